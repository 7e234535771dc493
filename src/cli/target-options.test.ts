import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONFIG_NAMES } from '../config/load.ts';
import { DEFAULT_CONFIG_NAMES } from './target-options.ts';

describe('settingsFor', () => {
  it('looks for the same default config files as the config loader (or it would skip one)', () => {
    assert.deepEqual([...DEFAULT_CONFIG_NAMES], [...CONFIG_NAMES]);
  });
});
