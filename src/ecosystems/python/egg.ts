/**
 * Zipped eggs (`*.egg` files, setuptools' old binary distribution, still found in site-packages):
 * the package's core metadata is the archive's `EGG-INFO/PKG-INFO`, as Trivy's egg analyzer reads it.
 * Condensed right when the layer walker reads the file: only that entry's header block is kept.
 */
import { ZipError, readZipEntry, zipEntries } from '../java/zip.ts';
import { condenseMetadata } from './metadata.ts';

export { isEggFile } from './paths.ts';

const PKG_INFO = 'EGG-INFO/PKG-INFO';
/** PKG-INFO is a few KB; a bigger entry is not one. */
const MAX_PKG_INFO = 1024 * 1024;

const isZip = (b: Buffer): boolean => b.length >= 4 && b.readUInt32LE(0) === 0x04034b50;

/**
 * The metadata header block of a zipped egg; undefined when it is not a zip archive or holds no
 * EGG-INFO/PKG-INFO. Content that is not a zip is returned as is (already condensed).
 */
export function eggMetadata(content: Buffer): Buffer | undefined {
  if (!isZip(content)) return content;
  try {
    const entry = zipEntries(content).find((e) => e.name === PKG_INFO);
    return entry ? condenseMetadata(readZipEntry(content, entry, MAX_PKG_INFO)) : undefined;
  } catch (err) {
    if (err instanceof ZipError) return undefined;
    throw err;
  }
}
