#!/bin/bash
# The damage matrix of zadp-repo(5), "What damage does, and how to
# recover", for the caches of the packs' tables and the list of chunks set
# aside (see repo-damage-matrix.sh): the locator's header, fan-out and an
# entry's id, pack, offset and length bytes flipped, the locator, an
# unmerged table and packs/damaged flipped, truncated, deleted. What is
# asserted: see repo-damage.sh.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo-damage.sh"

run_matrix '
plain locator.count.flip
plain locator.fanout.flip
plain locator.id.flip
plain locator.pack.flip
plain locator.offset.flip
plain locator.length.flip
plain locator.cut48
plain locator.trunc
plain locator.delete
plain table.id.flip
plain table.trunc
plain table.delete
dlist none
dlist damaged.offset.flip
dlist damaged.trunc
dlist damaged.delete
'
echo "ok: every damage to the locator, the unmerged tables and packs/damaged"
