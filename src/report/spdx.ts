/**
 * `--format spdx-json`: an SPDX 2.3 JSON document.
 *
 *   document        SPDXRef-DOCUMENT, name, a namespace with a content-derived UUID, creationInfo,
 *                   dataLicense CC0-1.0, hasExtractedLicensingInfos for every LicenseRef used
 *   packages        the artifact (CONTAINER or SOURCE), the OS (OPERATING-SYSTEM), one APPLICATION per
 *                   lock file, every package (LIBRARY) with versionInfo, supplier, licenseDeclared,
 *                   sourceInfo ("built package from: NAME VERSION"), a PACKAGE-MANAGER purl, SECURITY
 *                   advisory refs for its findings, and annotations carrying type/arch/layer/file
 *   relationships   DOCUMENT DESCRIBES artifact; artifact CONTAINS OS and lock files; OS and lock
 *                   files CONTAIN their packages
 *
 * Deterministic: `opts.now` (else the scan time) is the creation time; SPDXIDs are content hashes.
 */
import type { Artifact, Package, ScanReport } from '../domain/index.ts';
import { artifactName, contentUuid, EXTRA_ELSEWHERE, groupResults, hexDigest, isoSeconds, packageFile, packageLayer, reportTime, writeAll } from './common.ts';
import { declaredLicense } from './licenses.ts';
import type { RenderOptions, Writer } from './types.ts';

export const SPDX_VERSION = 'SPDX-2.3';
/** SPDX's recommended namespace pattern for documents without a creator web site. */
const NAMESPACE_BASE = 'https://spdx.org/spdxdocs/portcullis';

interface SpdxAnnotation {
  annotationDate: string;
  annotationType: 'OTHER';
  annotator: string;
  comment: string;
}

interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  supplier?: string;
  originator?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  sourceInfo?: string;
  licenseConcluded?: string;
  licenseDeclared?: string;
  copyrightText?: string;
  description?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string; comment?: string }[];
  primaryPackagePurpose: string;
  annotations?: SpdxAnnotation[];
  comment?: string;
}

export interface SpdxDocument {
  spdxVersion: string;
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { creators: string[]; created: string; comment?: string };
  comment?: string;
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relatedSpdxElement: string; relationshipType: string }[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name: string; comment?: string }[];
}

/** A valid SPDXID: `SPDXRef-` + kind + a short content hash (idstring is [A-Za-z0-9.-]+). */
function spdxRef(kind: string, parts: readonly string[], used: Set<string>): string {
  let id = `SPDXRef-${kind}-${hexDigest(parts)}`;
  for (let n = 2; used.has(id); n++) id = `SPDXRef-${kind}-${hexDigest([...parts, String(n)])}`;
  used.add(id);
  return id;
}

/** "Name <mail>" → "Organization: Name (mail)", the SPDX agent syntax. */
export function spdxAgent(who: string, kind: 'Organization' | 'Person' = 'Organization'): string {
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(who);
  const name = (m ? m[1] : who)?.replace(/[()]/g, '').trim() || who.trim();
  return m && m[2] ? `${kind}: ${name} (${m[2]})` : `${kind}: ${name}`;
}

function annotations(p: Package, a: Artifact, date: string, tool: string): SpdxAnnotation[] {
  const facts: [string, string | undefined][] = [
    ['PkgType', p.type],
    ['Arch', p.arch],
    ['SrcName', p.source?.name],
    ['SrcVersion', p.source?.version],
    ['SrcEpoch', p.source?.epoch ? String(p.source.epoch) : undefined],
    ['FilePath', packageFile(p)],
    ['Target', p.filePath && p.filePath !== packageFile(p) ? p.filePath : undefined],
    ['LayerDigest', packageLayer(p, a).digest],
    ['LayerDiffID', packageLayer(p, a).diffId],
    ['Modularitylabel', p.extra?.['modularityLabel']],
    ['Dev', p.dev === undefined ? undefined : String(p.dev)],
    ['Relationship', p.relationship],
    ...Object.entries(p.extra ?? {})
      .filter(([k]) => !EXTRA_ELSEWHERE.has(k))
      .map(([k, v]): [string, string] => [`extra:${k}`, v]),
  ];
  return facts.filter((f): f is [string, string] => Boolean(f[1])).map(([k, v]) => ({ annotationDate: date, annotationType: 'OTHER', annotator: tool, comment: `${k}: ${v}` }));
}

export function spdxDocument(report: ScanReport, opts: RenderOptions): SpdxDocument {
  const inv = report.inventory;
  const a = inv.artifact;
  const name = artifactName(a);
  const created = isoSeconds(reportTime(report, opts));
  const tool = `Tool: portcullis-${opts.toolVersion}`;
  const used = new Set<string>();
  const extracted = new Map<string, string>();
  const uuid = contentUuid([name, a.digest ?? '', a.imageId ?? '', created, ...inv.packages.map((p) => `${p.purl} ${packageFile(p) ?? ''}`), ...report.findings.map((f) => f.advisoryId)]);
  const safeName = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'artifact';

  const isImage = a.type === 'container_image';
  const rootId = spdxRef(isImage ? 'ContainerImage' : 'Filesystem', [name, a.digest ?? ''], used);
  const root: SpdxPackage = {
    name,
    SPDXID: rootId,
    ...(a.digest ? { versionInfo: a.digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    primaryPackagePurpose: isImage ? 'CONTAINER' : 'SOURCE',
  };
  const rootAnn: [string, string | undefined][] = [
    ['ImageID', a.imageId],
    ...(a.diffIds ?? []).map((d): [string, string] => ['DiffID', d]),
    ...(a.repoTags ?? []).map((t): [string, string] => ['RepoTag', t]),
    ...(a.repoDigests ?? []).map((d): [string, string] => ['RepoDigest', d]),
    ['Platform', a.platform],
  ];
  const ra = rootAnn.filter((x): x is [string, string] => Boolean(x[1])).map(([k, v]): SpdxAnnotation => ({ annotationDate: created, annotationType: 'OTHER', annotator: tool, comment: `${k}: ${v}` }));
  if (ra.length) root.annotations = ra;
  const repoDigest = a.repoDigests?.[0];
  if (repoDigest) {
    const at = repoDigest.lastIndexOf('@');
    const repo = repoDigest.slice(0, at);
    const img = repo.split('/').pop() ?? repo;
    root.externalRefs = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/${encodeURIComponent(img.toLowerCase())}@${encodeURIComponent(repoDigest.slice(at + 1))}?repository_url=${encodeURIComponent(repo)}` }];
  }

  const packages: SpdxPackage[] = [root];
  const relationships: SpdxDocument['relationships'] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relatedSpdxElement: rootId, relationshipType: 'DESCRIBES' }];
  // keyed by identity fields, not object: a stored report's findings hold copies of its packages
  const pkgKey = (p: Package): string => `${p.type}\0${p.purl}\0${p.name}\0${p.version}\0${packageFile(p) ?? ''}`;
  const advisories = new Map<string, string[]>();
  for (const f of report.findings) {
    const list = advisories.get(pkgKey(f.package)) ?? [];
    if (f.url && !list.includes(f.url)) list.push(f.url);
    advisories.set(pkgKey(f.package), list);
  }

  for (const g of groupResults({ ...report, findings: [] }, { withEmpty: true })) {
    let parent = rootId;
    if (g.class === 'os-pkgs' && inv.os) {
      parent = spdxRef('OperatingSystem', [inv.os.family, inv.os.version], used);
      packages.push({
        name: inv.os.family,
        SPDXID: parent,
        versionInfo: inv.os.version,
        downloadLocation: 'NONE',
        filesAnalyzed: false,
        ...(inv.os.prettyName ? { description: inv.os.prettyName } : {}),
        primaryPackagePurpose: 'OPERATING-SYSTEM',
      });
      relationships.push({ spdxElementId: rootId, relatedSpdxElement: parent, relationshipType: 'CONTAINS' });
    } else if (g.class === 'lang-pkgs' && g.file) {
      parent = spdxRef('Application', [g.type, g.file], used);
      packages.push({
        name: g.file,
        SPDXID: parent,
        downloadLocation: 'NONE',
        filesAnalyzed: false,
        primaryPackagePurpose: 'APPLICATION',
        annotations: [{ annotationDate: created, annotationType: 'OTHER', annotator: tool, comment: `Type: ${g.type}` }],
      });
      relationships.push({ spdxElementId: rootId, relatedSpdxElement: parent, relationshipType: 'CONTAINS' });
    }
    for (const p of g.packages) {
      const id = spdxRef('Package', [p.purl, p.name, p.version, packageFile(p) ?? ''], used);
      const lic = declaredLicense(p.licenses);
      for (const r of lic.refs) extracted.set(r.id, r.name);
      const who = p.extra?.['maintainer'] ?? p.extra?.['vendor'];
      const refs: NonNullable<SpdxPackage['externalRefs']> = [];
      if (p.purl) refs.push({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl });
      for (const u of advisories.get(pkgKey(p)) ?? []) if (!/\s/.test(u)) refs.push({ referenceCategory: 'SECURITY', referenceType: 'advisory', referenceLocator: u });
      const sp: SpdxPackage = {
        name: p.name,
        SPDXID: id,
        versionInfo: p.version,
        ...(who ? { supplier: spdxAgent(who) } : {}),
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        ...(p.source ? { sourceInfo: `built package from: ${p.source.name} ${p.source.version}` } : {}),
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: lic.expression,
        copyrightText: 'NOASSERTION',
        ...(refs.length ? { externalRefs: refs } : {}),
        primaryPackagePurpose: 'LIBRARY',
        annotations: annotations(p, a, created, tool),
      };
      packages.push(sp);
      relationships.push({ spdxElementId: parent, relatedSpdxElement: id, relationshipType: 'CONTAINS' });
    }
  }

  const doc: SpdxDocument = {
    spdxVersion: SPDX_VERSION,
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: `${NAMESPACE_BASE}/${a.type === 'container_image' ? 'image' : 'filesystem'}/${safeName}-${uuid}`,
    creationInfo: { creators: [tool], created },
    packages,
    relationships,
  };
  if (inv.notes.length) doc.comment = `Incomplete: ${inv.notes.join(' | ')}`;
  if (extracted.size) {
    doc.hasExtractedLicensingInfos = [...extracted.entries()]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([licenseId, text]) => ({ licenseId, extractedText: text, name: text, comment: 'license name as the package declares it; not an SPDX license list id' }));
  }
  return doc;
}

export const writeSpdxJson: Writer = async (report, opts, out) => {
  await writeAll(out, `${JSON.stringify(spdxDocument(report, opts), null, 2)}\n`);
};
