// A self-deploy's runner killed inside the switch, while no app container runs: after the
// old one stopped, after its rename, after the new one was created; some twice.
import { describeFaults } from '../helpers/self-deploy-faults.js';

await describeFaults('inside the switch', [
  { at: 'switch:after-stop' },
  { at: 'switch:after-stop', times: 2 },
  { at: 'switch:after-rename' },
  { at: 'switch:after-create' },
  { at: 'switch:after-create', times: 2 },
]);
