const byExtension: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  json: 'application/json',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  sql: 'application/sql',
  yaml: 'application/x-yaml',
  yml: 'application/x-yaml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
};

/**
 * The mime_type the real server reports for an upload: grammY always sends
 * application/octet-stream, so the file name's extension decides, as it does there.
 */
export function mimeTypeOf(fileName: string, sentType: string): string {
  const extension = fileName.includes('.') ? fileName.split('.').pop()!.toLowerCase() : '';
  const known = byExtension[extension];
  if (known) return known;
  return sentType && sentType !== 'application/octet-stream' ? sentType : 'application/octet-stream';
}
