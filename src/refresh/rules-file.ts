/**
 * The anonymisation rules file's name, at the deployed repository's root. Apart from its
 * parser (anonymise-rules.ts), which loads the YAML library: what only names the file
 * (lugh start, the anonymiser, the doctor) does not load it.
 */
export const RULES_FILE = 'lugh.anonymise.yml';
