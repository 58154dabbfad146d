// The process that starts host commands for Nimbus. Starting a program from a process costs
// in proportion to that process's memory (the kernel copies its page tables); this one stays
// small, so each command starts in a fraction of what it would cost from the API process.
// Plain JavaScript on purpose: no loader, the smallest footprint.
// Protocol (Node IPC): request {id, command, args, input?, timeoutMs, outputFile?, detached?}
// -> reply {id, stdout, stderr, code, signal, timedOut, spawnError?}.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

process.on('disconnect', () => process.exit(0));

process.on('message', (request) => {
  const { id, command, args, input, timeoutMs, outputFile, detached } = request;
  let outputFd;
  try {
    if (outputFile !== undefined) outputFd = openSync(outputFile, 'a');
  } catch (error) {
    process.send({ id, stdout: '', stderr: '', code: null, signal: null, timedOut: false, spawnError: { code: error.code, message: error.message } });
    return;
  }
  const child = spawn(command, args, {
    stdio: [input === undefined ? 'ignore' : 'pipe', outputFd ?? 'pipe', outputFd ?? 'pipe'],
    detached: detached ?? false,
  });
  if (outputFd !== undefined) closeSync(outputFd);
  child.stdin?.on('error', () => undefined).end(input);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  let answered = false;
  const answer = (reply) => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    process.send({ id, stdout, stderr, timedOut, ...reply });
  };
  child.on('error', (error) => answer({ code: null, signal: null, spawnError: { code: error.code, message: error.message } }));
  child.on('close', (code, signal) => answer({ code, signal }));
});
