import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commands } from './commands/index.ts';
import { commandsFor } from './program.ts';

const names = (argv: string[]): string[] => commandsFor(['node', 'portcullis', ...argv]).map((c) => c.names[0] ?? '');
const all = commands.map((c) => c.names[0] ?? '');

describe('commandsFor', () => {
  it('loads only the module of the command argv names, after any global options', () => {
    assert.deepEqual(names(['sbom', 'oci:x', '--format', 'cyclonedx']), ['sbom']);
    assert.deepEqual(names(['--cache-dir', 'scan', '-q', 'db', 'status']), ['db']);
    assert.deepEqual(names(['--cache-dir=/c', '-d', 'image', 'alpine']), ['scan']);
    assert.deepEqual(names(['server', '--help']), ['server']);
  });

  it('loads every module for top-level help, `help`, no command or an unknown one; none for --version', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help', 'sbom'], ['sbomm', 'x'], ['--', 'sbom']]) assert.deepEqual(names(argv), all, argv.join(' '));
    assert.deepEqual(names(['--version']), []);
    assert.deepEqual(names(['-q', '-v']), []);
  });

  it('names every top-level command each module registers', async () => {
    const { Command } = await import('commander');
    for (const c of commands) {
      const program = new Command();
      (await c.load()).register(program, () => {
        throw new Error('no context at registration');
      });
      const registered = program.commands.flatMap((cmd) => [cmd.name(), ...cmd.aliases()]);
      assert.deepEqual(registered.sort(), [...c.names].sort());
    }
  });
});
