import { describe, expect, it } from 'vitest';
import { dashboardFile } from '../../src/server/http/static.js';

describe("the dashboard's files", () => {
  it('are the fixed list, at / and under /assets/ only', () => {
    expect(dashboardFile('/')).toBe('index.html');
    expect(dashboardFile('/assets/app.js')).toBe('app.js');
    expect(dashboardFile('/assets/xterm.css')).toBe('xterm.css');
    expect(dashboardFile('/app.js')).toBeUndefined();
    expect(dashboardFile('/assets/../package.json')).toBeUndefined();
  });

  it('find nothing for names every object inherits (constructor, __proto__, toString), so the server answers its plain 404', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      expect(dashboardFile(`/assets/${name}`), name).toBeUndefined();
    }
  });
});
