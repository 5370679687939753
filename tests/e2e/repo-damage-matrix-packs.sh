#!/bin/bash
# The damage matrix of zadp-repo(5), "What damage does, and how to
# recover", for the packs (see repo-damage-matrix.sh): a pack the locator
# names (pack1) and one an unmerged table names (pack2), each damaged alone
# in its objects, header, table or tail, truncated or deleted. What is
# asserted: see repo-damage.sh.
. "$HCI_SOURCE_DIR/tests/e2e/lib.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo.sh"
. "$HCI_SOURCE_DIR/tests/e2e/repo-damage.sh"

run_matrix '
plain pack1.obj.flip
plain pack1.objhdr.flip
plain pack1.head.flip
plain pack1.table.id.flip
plain pack1.table.seal.flip
plain pack1.tail.count.flip
plain pack1.tail.len.flip
plain pack1.tail.magic.flip
plain pack1.cut1
plain pack1.trunc
plain pack1.delete
plain pack2.obj.flip
plain pack2.table.id.flip
plain pack2.tail.magic.flip
plain pack2.trunc
plain pack2.delete
'
echo "ok: every damage to a pack"
