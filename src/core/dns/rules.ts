import { isAtOrBelow } from './names.ts';
import { sameData, type RecordData } from './record-types.ts';

/** A record as the zone would hold it. */
export interface ZoneRecord {
  name: string;
  ttl: number | null;
  data: RecordData;
}

/**
 * What is wrong with a zone's records taken together (RFC 1034 and 2181): a CNAME alone at its
 * name and never at the apex, the apex's NS records left to the deployment, nothing but glue
 * addresses below a delegation, no record twice. Returns messages by the index of each record
 * at fault; records whose index is below `checkedFrom` are the zone's current ones and are
 * assumed fine (a problem between an old and a new record is reported on the new one).
 */
export function conflictsIn(zone: string, records: readonly ZoneRecord[], checkedFrom = 0): Map<number, string[]> {
  const problems = new Map<number, string[]>();
  const report = (index: number, message: string) => problems.set(index, [...(problems.get(index) ?? []), message]);
  const byName = new Map<string, number[]>();
  for (const [i, record] of records.entries()) byName.set(record.name, [...(byName.get(record.name) ?? []), i]);
  const delegations = records.filter((r) => r.data.type === 'NS' && r.name !== zone).map((r) => r.name);

  for (let i = checkedFrom; i < records.length; i++) {
    const { name, data } = records[i]!;
    if (name === zone && data.type === 'CNAME') report(i, 'A CNAME cannot be at the zone apex: the SOA and NS records are there.');
    if (name === zone && data.type === 'NS') report(i, "The zone apex's NS records are the deployment's name servers; NS records here delegate names below the apex.");
    if (name.startsWith('*.') && data.type === 'NS') report(i, 'A wildcard name cannot be delegated.');
    const neighbours = byName.get(name)!.filter((j) => j !== i);
    if (data.type === 'CNAME' ? neighbours.length > 0 : neighbours.some((j) => records[j]!.data.type === 'CNAME')) {
      report(i, `A CNAME must be the only record at its name: ${name} would hold a CNAME and other records.`);
    }
    if (neighbours.some((j) => j < i && sameData(records[j]!.data, data))) report(i, 'The zone already holds this record.');
    const cut = delegations.find((d) => occludedBy(name, data, d));
    if (cut) report(i, `${name} is at or below the delegation of ${cut}: only glue addresses (A, AAAA) belong there.`);
    if (data.type === 'NS' && name !== zone) {
      const hidden = records.find((r) => occludedBy(r.name, r.data, name));
      if (hidden) report(i, `Delegating ${name} would hide the ${hidden.data.type} record of ${hidden.name}: only glue addresses (A, AAAA) belong at or below a delegation.`);
    }
  }
  return problems;
}

/** Whether a record would be hidden by a delegation at `cut`: at or below it, and not its NS records or glue. */
function occludedBy(name: string, data: RecordData, cut: string): boolean {
  if (!isAtOrBelow(name, cut)) return false;
  if (data.type === 'A' || data.type === 'AAAA') return false;
  return !(name === cut && data.type === 'NS');
}
