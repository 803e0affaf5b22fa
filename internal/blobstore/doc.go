// Package blobstore keeps Custody's evidence bytes: content-addressed blobs
// (custody.BlobStore) and small named objects such as log tiles and
// checkpoints (custody.ObjectStore). It has two backends: a local file
// system (FS, FSObjects), the default, and any S3-compatible object store
// (S3), for deployments that outgrow one disk. Encrypted keeps blobs
// encrypted at rest as age files over either (FSBackend,
// S3.EncryptedBackend), with the keys of a KeyRing, whose data keys also
// seal sensitive fields kept elsewhere (FieldSealer); see docs/keys.md.
//
// Invariants, for every backend:
//
//   - A blob is stored under the SHA-256 of its bytes and nothing else. The
//     hash is computed while the bytes stream in; no blob is ever held whole
//     in memory, so a 10 GiB video is ingested in constant memory.
//   - Bytes are written under a temporary name first and appear under their
//     final name only once complete and durable (fsync of the file and of its
//     directory on disk; a completed upload on S3). On any error or
//     cancellation the temporary copy is removed: a failed Put leaves nothing
//     behind, neither partial nor complete.
//   - Every reader returned by Open re-hashes the bytes it delivers and
//     returns an error wrapping custody.ETAMPERED at EOF if they do not match
//     the reference (or its recorded size). Callers MUST read to io.EOF and
//     check the error before trusting or forwarding the content.
//   - Content is never overwritten: storing bytes that are already present
//     reports BlobInfo.Existed and leaves the stored copy untouched.
//   - Empty content is a valid blob (its reference is the SHA-256 of nothing).
//     Rejecting empty uploads is the intake layer's policy, not the store's.
//   - Object names are slash-separated relative paths of non-empty segments;
//     absolute paths, "." and ".." segments, segments starting with a dot,
//     backslashes and NUL bytes are rejected with custody.EINVALID.
//
// File system layout (FS and FSObjects use separate directories):
//
//	<dir>/sha256/<first 2 hex digits>/<64 hex digits>   blobs
//	<dir>/age/<first 2 hex digits>/<64 hex digits>.age  blobs of an Encrypted store
//	<dir>/tmp/                                           uploads in progress
//	<objects dir>/<name>                                 named objects
//	<objects dir>/.tmp/                                  object writes in progress
//
// S3 layout, below the bucket URL's optional prefix:
//
//	sha256/<64 hex digits>       blobs
//	age/<64 hex digits>.age      blobs of an Encrypted store
//	tmp/<uuid>                   uploads in progress
//	<objects prefix>/<name>  named objects (see S3.Objects)
package blobstore
