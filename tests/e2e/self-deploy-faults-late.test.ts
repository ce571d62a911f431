// A self-deploy's runner (and for one case the app) killed once the new version runs: after
// its start, during its health wait, at and during verify, and after the row is finished
// but before the chat is told.
import { describeFaults } from '../helpers/self-deploy-faults.js';

await describeFaults('after the new version started', [
  { at: 'switch:after-start', app: true },
  { at: 'switch:during-health' },
  { at: 'step:verify' },
  { at: 'verify:during' },
  { at: 'record:after-finish' },
]);
