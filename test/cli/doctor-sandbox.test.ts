import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { checkSandbox, userNamespaceProblems } from '../../src/cli/doctor-sandbox.js';

describe('doctor: the OS sandbox', () => {
  it('fails --sandbox on without bubblewrap, saying how to install it; auto only warns; off is not checked', () => {
    const missing = { ...defaultConfig(), sandboxProgram: '/nonexistent/bwrap' };
    const on = checkSandbox({ ...missing, sandbox: 'on' }, 'linux', 0);
    expect(on[0]).toMatchObject({ check: 'sandbox', status: 'fail' });
    expect(on[0].fix).toContain('apt-get install bubblewrap');
    expect(checkSandbox({ ...missing, sandbox: 'auto' }, 'linux', 0)[0]).toMatchObject({ status: 'warn' });
    expect(checkSandbox({ ...missing, sandbox: 'off' }, 'linux', 0)).toEqual([expect.objectContaining({ status: 'n/a' })]);
    // At HIGH the default is on.
    expect(checkSandbox({ ...missing, securityLevel: 'HIGH' }, 'linux', 0)[0]).toMatchObject({ status: 'fail' });
  });

  it('names each setting that keeps unprivileged user namespaces off, with its fix', () => {
    const sysctls: Record<string, string> = {
      '/proc/sys/kernel/unprivileged_userns_clone': '0\n',
      '/proc/sys/user/max_user_namespaces': '0\n',
      '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n',
    };
    const read = (f: string) => {
      if (!(f in sysctls)) throw new Error('ENOENT');
      return sysctls[f];
    };
    const problems = userNamespaceProblems(read);
    expect(problems.map((p) => p.fix).join(' ')).toMatch(/unprivileged_userns_clone=1.*max_user_namespaces=15000.*apparmor_restrict_unprivileged_userns=0/);
    expect(userNamespaceProblems(() => '1\n')).toEqual(expect.arrayContaining([expect.objectContaining({ problem: expect.stringContaining('AppArmor') })]));
    expect(userNamespaceProblems(() => '15000\n')).toEqual([]);
  });
});
