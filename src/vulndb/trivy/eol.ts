/**
 * End-of-life tables as Trivy 0.44 ships them (pkg/detector/ospkg/<family>: eolDates and
 * IsSupportedVersion), for Trivy's Metadata.OS.EOSL: true when the release is past its date — or,
 * for most families, when Trivy does not list the release at all. Checked against the real Trivy
 * 0.44.1 release by release (test/integration/trivydb-match.test.ts, 'EOSL').
 */
import type { OsInfo } from '../../domain/index.ts';

type Table = Readonly<Record<string, string>>;

const ALPINE: Table = {
  '2.0': '2012-04-01', '2.1': '2012-11-01', '2.2': '2013-05-01', '2.3': '2013-11-01', '2.4': '2014-05-01', '2.5': '2014-11-01',
  '2.6': '2015-05-01', '2.7': '2015-11-01', '3.0': '2016-05-01', '3.1': '2016-11-01', '3.2': '2017-05-01', '3.3': '2017-11-01',
  '3.4': '2018-05-01', '3.5': '2018-11-01', '3.6': '2019-05-01', '3.7': '2019-11-01', '3.8': '2020-05-01', '3.9': '2020-11-01',
  '3.10': '2021-05-01', '3.11': '2021-11-01', '3.12': '2022-05-01', '3.13': '2022-11-01', '3.14': '2023-05-01', '3.15': '2023-11-01',
  '3.16': '2024-05-23', '3.17': '2024-11-22', '3.18': '2025-05-09', edge: '9999-01-01',
};
const DEBIAN: Table = {
  '1.1': '1997-06-05', '1.2': '1998-06-05', '1.3': '1999-03-09', '2.0': '2000-03-09', '2.1': '2000-10-30', '2.2': '2003-07-30',
  '3.0': '2006-06-30', '3.1': '2008-03-30', '4.0': '2010-02-15', '5.0': '2012-02-06', '6.0': '2016-02-29', '7': '2018-05-31',
  '8': '2020-06-30', '9': '2022-06-30', '10': '2024-06-30', '11': '2026-08-14', '12': '3000-01-01',
};
const UBUNTU: Table = {
  '4.10': '2006-04-30', '5.04': '2006-10-31', '5.10': '2007-04-13', '6.06': '2011-06-01', '6.10': '2008-04-25', '7.04': '2008-10-19',
  '7.10': '2009-04-18', '8.04': '2013-05-09', '8.10': '2010-04-30', '9.04': '2010-10-23', '9.10': '2011-04-29', '10.04': '2015-04-29',
  '10.10': '2012-04-10', '11.04': '2012-10-28', '11.10': '2013-05-09', '12.04': '2019-04-26', '12.10': '2014-05-16', '13.04': '2014-01-27',
  '13.10': '2014-07-17', '14.04': '2022-04-25', '14.10': '2015-07-23', '15.04': '2016-01-23', '15.10': '2016-07-22', '16.04': '2021-04-21',
  '16.10': '2017-07-20', '17.04': '2018-01-13', '17.10': '2018-07-19', '18.04': '2023-05-31', '18.10': '2019-07-18', '19.04': '2020-01-18',
  '19.10': '2020-07-17', '20.04': '2025-04-23', '20.10': '2021-07-22', '21.04': '2022-01-20', '21.10': '2022-07-14', '22.04': '2027-04-23',
  '22.10': '2023-07-20', '23.04': '2024-01-20',
};
const REDHAT: Table = { '4': '2017-05-31', '5': '2020-11-30', '6': '2024-06-30', '7': '3000-01-01', '8': '3000-01-01', '9': '3000-01-01' };
const CENTOS: Table = { '3': '2010-10-31', '4': '2012-02-29', '5': '2017-03-31', '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' };
const ROCKY: Table = { '8': '2029-05-31', '9': '2032-05-31' };
const ALMA: Table = { '8': '2029-03-01', '9': '2032-05-31' };
const ORACLE: Table = { '3': '2011-12-31', '4': '2013-12-31', '5': '2017-12-31', '6': '2021-03-21', '7': '2024-07-23', '8': '2029-07-18', '9': '2032-07-18' };
const AMAZON: Table = { '1': '2023-12-31', '2': '2025-06-30', '2022': '2026-06-30', '2023': '2028-03-15' };
const PHOTON: Table = { '1.0': '2022-02-28', '2.0': '2022-12-31', '3.0': '2024-03-01', '4.0': '2026-03-01', '5.0': '2028-03-01' };
const SLES: Table = {
  '10': '2007-12-31', '10.1': '2008-11-30', '10.2': '2010-04-11', '10.3': '2011-10-11', '10.4': '2013-07-31', '11': '2010-12-31',
  '11.1': '2012-08-31', '11.2': '2014-01-31', '11.3': '2016-01-31', '11.4': '2019-03-31', '12': '2016-06-30', '12.1': '2017-05-31',
  '12.2': '2018-03-31', '12.3': '2019-01-30', '12.4': '2020-06-30', '12.5': '2024-10-31', '15': '2019-12-31', '15.1': '2021-01-31',
  '15.2': '2021-12-31', '15.3': '2022-12-31', '15.4': '2023-12-31', '15.5': '2028-12-31',
};
const OPENSUSE: Table = {
  '42.1': '2017-05-17', '42.2': '2018-01-26', '42.3': '2019-06-30', '15.0': '2019-12-03', '15.1': '2020-11-30', '15.2': '2021-11-30',
  '15.3': '2022-11-30', '15.4': '2023-11-30', '15.5': '2024-12-31',
};

const major = (v: string): string => (v.includes('.') ? v.slice(0, v.indexOf('.')) : v);
const dropPatch = (v: string): string => ((v.match(/\./g)?.length ?? 0) > 1 ? v.slice(0, v.lastIndexOf('.')) : v);

/** Past the table's date (the last second of that day, UTC)? A release missing from the table counts as `missing`. */
function past(table: Table, release: string, now: Date, missing: boolean): boolean {
  const d = table[release];
  if (d === undefined) return missing;
  return now.getTime() > Date.parse(`${d}T23:59:59Z`);
}

/**
 * Trivy's EOSL for this OS at `now`; undefined when Trivy has no driver for the family (it then
 * reports no EOSL at all).
 */
export function trivyEosl(os: OsInfo, now: Date): boolean | undefined {
  const v = os.version;
  switch (os.family) {
    case 'alpine':
      // not on the list → "may be the latest version": supported
      return past(ALPINE, dropPatch(v), now, false);
    case 'debian':
      return past(DEBIAN, major(v), now, true);
    case 'ubuntu':
      return past(UBUNTU, v, now, true);
    case 'redhat':
      return past(REDHAT, major(v), now, true);
    case 'centos':
      return past(CENTOS, major(v), now, true);
    case 'rocky':
      return past(ROCKY, major(v), now, true);
    case 'alma':
      return past(ALMA, major(v), now, true);
    case 'oracle':
      return past(ORACLE, major(v), now, true);
    case 'amazon': {
      const first = v.trim().split(/\s+/)[0] ?? '';
      return past(AMAZON, first === '2' || first === '2022' || first === '2023' ? first : '1', now, true);
    }
    case 'photon':
      return past(PHOTON, v, now, true);
    case 'suse linux enterprise server':
      return past(SLES, v, now, true);
    case 'opensuse.leap':
      return past(OPENSUSE, v, now, true);
    case 'cbl-mariner':
    case 'wolfi':
    case 'chainguard':
      return false;
    default:
      return undefined;
  }
}
