import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/program.ts';

describe('apexalias flags and their environment variables', () => {
  const program = buildProgram();
  const commands = [program, ...program.commands.filter((c) => c.name() !== 'help')];

  it.each(commands.map((c) => [c.name(), c] as const))(
    'every flag of %s can be set from APEXALIAS_<FLAG>, and its --help says so',
    (_name, cmd) => {
      const help = cmd.helpInformation();
      const options = cmd.options.filter((o) => o.long !== '--version');
      expect(options.length).toBeGreaterThan(0);
      for (const option of options) {
        const expected = `APEXALIAS_${option.name().replace(/-/g, '_').toUpperCase()}`;
        expect(option.envVar, option.flags).toBe(expected);
        expect(help.replace(/\s+/g, ' '), option.flags).toContain(`env: ${expected}`);
      }
    },
  );

  it('the help of each command also lists the global options', () => {
    for (const cmd of program.commands.filter((c) => c.name() !== 'help')) {
      const help = cmd.helpInformation();
      expect(help).toContain('Global Options:');
      for (const flag of ['--config', '--resolver', '--log-format', '--log-level'])
        expect(help).toContain(flag);
    }
  });
});
