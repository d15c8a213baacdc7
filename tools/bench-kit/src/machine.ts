// What a figure was measured on, printed with every bench's results (STYLE: README figures say on
// what machine and how they were measured; the load average says whether anything else ran).
import os from 'node:os';

/** `2 × AMD EPYC 7B13, 24 GiB RAM, load average 0.4 0.3 0.2, Node v20.20.2`. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() || 'unknown CPU';
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `${cpus.length} × ${model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, load average ${load}, Node ${process.version}`;
}
