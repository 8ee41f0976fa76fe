/** Registration entries: the rules an entry must follow before the datastore sees it. */
export { RegistrationError, RegistrationErrorCode } from './errors.js';
export { MAX_ENTRY_ID_LENGTH, MAX_HINT_BYTES, RESERVED_PATH } from './fields.js';
export { validateEntry, validateEntryPatch, type EntryInput, type ValidationLimits } from './validate.js';
