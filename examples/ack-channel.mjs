// openAckChannel: a job taken by a worker that then crashes is not lost. Run with
// `npm run build && node examples/ack-channel.mjs` (docs/distributed.md).
//
// What to notice: worker 1 crashes on its second job; the job it held goes back to the front
// of the queue and another worker does it (deliveries: 2). The supervisor restarts worker 1.
// Every job is acknowledged exactly once, and nothing is left in flight.
import assert from "node:assert/strict";
import { openAckChannel, run, sleep, withSupervisor } from "../dist/index.js";

const JOBS = 8;
const [send, receive] = openAckChannel(4);
const done = new Map(); // job → how many times it was acknowledged
let crashed = false;

await run(async () => {
  await withSupervisor(
    async (sup) => {
      for (let w = 1; w <= 3; w++) {
        const rx = receive.clone();
        sup.spawn(
          async () => {
            let handled = 0;
            for await (const job of rx) {
              await sleep(10); // the work
              if (w === 1 && ++handled === 2 && !crashed) {
                crashed = true;
                throw new Error(`worker 1 crashed on job ${job.value}`);
              }
              await job.ack();
              done.set(job.value, (done.get(job.value) ?? 0) + 1);
              console.log(`worker ${w} did job ${job.value} (delivery ${job.deliveries})`);
            }
          },
          { name: `worker ${w}`, restart: "on-failure" },
        );
      }
      receive.close();
      for (let j = 1; j <= JOBS; j++) await send.send(j);
      send.close(); // the workers' loops end once every job is acknowledged
    },
    { onError: (err) => console.log(`supervisor: ${err.message}; restarting it`) },
  );
});

for (let j = 1; j <= JOBS; j++) assert.equal(done.get(j), 1, `job ${j} acknowledged ${done.get(j) ?? 0} times`);
assert.equal(receive.statistics().inFlight, 0);
console.log(`all ${JOBS} jobs acknowledged exactly once, although a worker crashed mid-job`);
