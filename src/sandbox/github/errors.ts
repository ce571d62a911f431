const DOCS = 'https://docs.github.com/rest';

export interface ValidationDetail {
  readonly resource: string;
  readonly code: string;
  readonly field?: string;
  readonly message?: string;
}

/** An answer in GitHub's error envelope: `{ message, documentation_url, status }` plus extras. */
export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
    readonly documentationUrl: string = DOCS,
  ) {
    super(message);
    this.name = 'GitHubApiError';
  }

  toBody(): Record<string, unknown> {
    return {
      message: this.message,
      ...this.extra,
      documentation_url: this.documentationUrl,
      status: String(this.status),
    };
  }
}

export function notFound(): GitHubApiError {
  return new GitHubApiError(404, 'Not Found');
}

/** 422 with GitHub's `errors` array, the way it refuses a well-formed but invalid request. */
export function validationFailed(
  errors: readonly ValidationDetail[],
  message = 'Validation Failed',
): GitHubApiError {
  return new GitHubApiError(422, message, { errors });
}

/** 422 for one field with a human message, as GitHub words its custom validations. */
export function customValidation(resource: string, message: string, field?: string): GitHubApiError {
  return validationFailed([{ resource, code: 'custom', ...(field ? { field } : {}), message }]);
}

export function missingField(resource: string, field: string): GitHubApiError {
  return validationFailed([{ resource, code: 'missing_field', field }]);
}

export function invalidField(resource: string, field: string): GitHubApiError {
  return validationFailed([{ resource, code: 'invalid', field }]);
}
