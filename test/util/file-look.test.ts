import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLook, identityOf, statOf } from '../../src/util/file-look.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-file-look-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('a file look', () => {
  it('stats a file once, whoever asks during it; a missing file is undefined, not an error', async () => {
    const file = join(base, 'once');
    writeFileSync(file, 'a');
    const look = new FileLook();
    const [a, b] = await Promise.all([look.stat(file), look.stat(file)]);
    expect(a).toBe(b);
    expect(a?.size).toBe(1);
    expect(await look.stat(join(base, 'missing'))).toBeUndefined();
    expect(await look.stat(join(file, 'below-a-file'))).toBeUndefined();
    expect(look.size).toBe(3);
  });

  it('never answers a later look with what an earlier one saw: a change between two looks shows', async () => {
    const file = join(base, 'grows');
    writeFileSync(file, 'a');
    const first = await new FileLook().stat(file);
    appendFileSync(file, 'b');
    const second = await new FileLook().stat(file);
    expect(second?.size).toBe(2);
    expect(identityOf(second!)).not.toBe(identityOf(first!));
  });

  it('an identity changes when another writer renames a file of the same size in', async () => {
    const file = join(base, 'state');
    writeFileSync(file, 'same');
    const was = identityOf((await statOf(file))!);
    writeFileSync(`${file}.tmp`, 'same');
    renameSync(`${file}.tmp`, file);
    expect(identityOf((await statOf(file))!)).not.toBe(was);
  });
});
