// A self-deploy's runner (and for one case the app) killed at the start of each step before
// and after the switch; the switch's own phases are in self-deploy-faults-switch and
// -late. Staging is not backed up (its backup step is skipped): step:backup is killed in a
// production self-deploy.
import { describeFaults } from '../helpers/self-deploy-faults.js';

await describeFaults('at a step', [
  { at: 'step:resolve' },
  { at: 'step:backup', env: 'production' },
  { at: 'step:build', app: true },
  { at: 'step:migrate' },
  { at: 'step:start' },
  { at: 'step:health' },
  { at: 'step:switch' },
  { at: 'step:cleanup' },
  { at: 'step:record' },
]);
