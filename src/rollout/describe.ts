/**
 * Kept only for `progress.ts`, which still imports `describe` from here: it is the shared
 * `describeValue` under its old name. Switch that import to `../describe-value.js` and delete this file.
 */

export { describeValue as describe } from '../describe-value.js';
