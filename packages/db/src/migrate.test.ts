import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MigrationError, refuseNewerDatabase, type Migration } from './migrate.ts';

const build: Migration[] = ['20260101000000_init', '20260301000000_tries', '20260601000000_logs'].map((name) => ({ name, sql: '', checksum: '' }));
const names = build.map((m) => m.name);

test('a database holding only migrations this build has is not refused', () => {
  refuseNewerDatabase(names, build);
  refuseNewerDatabase(names.slice(0, 2), build);
});

test('a migration newer than this build is a newer Sluice', () => {
  assert.throws(
    () => refuseNewerDatabase([...names, '20270101000000_later'], build),
    (err: unknown) =>
      err instanceof MigrationError &&
      err.message ===
        'the database was migrated by a newer Sluice: it has 1 migration this version does not know (the newest 20270101000000_later; this version\'s newest is 20260601000000_logs). ' +
          'Run that version or a newer one, or restore the database from before the upgrade',
  );
});

test("a migration older than this build's newest that it lacks is another build's, not a newer Sluice's (QA round 34a)", () => {
  assert.throws(
    () => refuseNewerDatabase([...names, '20260401000000_branch', '20270101000000_later'], build),
    (err: unknown) =>
      err instanceof MigrationError &&
      err.migration === '20260401000000_branch' &&
      err.message ===
        'the database was migrated by another build of Sluice: it has 2 migrations this version does not know, some older than this version\'s newest ' +
          '(20260401000000_branch; this version\'s newest is 20260601000000_logs). Run the build that migrated it, or restore the database from before it did',
  );
});
