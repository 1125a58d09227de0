// Runs executions of infra/calendar-retry.asl.json with
// aws-local-stepfunctions, side by side, each WriteEvent task answered by a
// calendar writer the Go test serves over HTTP.
// Usage: node run-state-machine.mjs <module dir> <definition> < jobs.json
// where jobs.json is [{"input": ..., "writer": "http://..."}, ...].
// Prints one JSON array, one entry per job: {"status":"SUCCEEDED","output":...}
// or {"status":"FAILED","error":...,"cause":...}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node >= 22).
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const [modules, definitionFile] = process.argv.slice(2);
const require = createRequire(join(modules, 'noop.js'));
const { StateMachine } = require('aws-local-stepfunctions');

const definition = JSON.parse(readFileSync(definitionFile, 'utf8').replaceAll(
  '${CalendarWriterFunctionArn}', 'arn:aws:lambda:us-east-1:123456789012:function:mailbridge-test-calendarwriter'));
const jobs = JSON.parse(readFileSync(0, 'utf8'));
const machine = new StateMachine(definition);

async function run({ input, writer }) {
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: {
        WriteEvent: async (state) => {
          const resp = await fetch(writer, { method: 'POST', body: JSON.stringify(state) });
          const body = await resp.json();
          if (resp.status !== 200) {
            const err = new Error(body.errorMessage);
            err.name = body.errorType;
            throw err;
          }
          return body;
        },
      },
    },
  });
  try {
    return { status: 'SUCCEEDED', output: await execution.result };
  } catch (err) {
    const e = err.cause ?? err;
    return { status: 'FAILED', error: e.name, cause: e.message };
  }
}

console.log(JSON.stringify(await Promise.all(jobs.map(run))));
