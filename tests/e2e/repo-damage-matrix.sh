#!/bin/bash
# The damage matrix of zadp-repo(5), "What damage does, and how to recover"
# (the packs are in repo-damage-matrix-packs.sh, the locator, unmerged
# tables and packs/damaged in repo-damage-matrix-locator.sh): each kind of file of a version-2
# repository damaged alone (a flipped byte in each of its parts, a
# truncation, a deletion), then check, check --read-data, gc twice, repair
# and storing the sources again, with every image and blob read after each
# step. What is asserted: see repo-damage.sh.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo-damage.sh"

run_matrix '
plain none
plain index.hlen.flip
plain index.header.flip
plain index.entry.flip
plain index.trailer.flip
plain index.trunc
plain index.delete
plain blob.flip
plain blob.trunc
plain blob.delete
plain config.version.flip
plain config.chunksize.flip
plain config.trunc
plain config.delete
enc none
enc pack1.tail.magic.flip
enc key.flip
enc key.trunc
enc key.delete
'
echo "ok: every damage to indexes, blobs, config and key"
