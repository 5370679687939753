#pragma once
#include <memory>
#include <string>

#include "libcommon/block/volume.h"

namespace hci {

// iscsi://[user@]host[:port]/<target iqn>/<lun> (libiscsi, user space).
//
// The CHAP secret comes only from options.chap_secret (needed when the URL
// names a user); the initiator IQN from options.initiator_iqn, else
// default_initiator_iqn() (libcommon/block/iscsi_url.h). options.queue_depth SCSI
// commands are kept in flight; one read()/write() of several MiB is split into
// commands no larger than the LUN's Block Limits maximum transfer length.
//
// extents() asks GET LBA STATUS when READ CAPACITY(16) reports LBPME (and the
// LUN reads unmapped blocks as zeros, LBPRZ); otherwise the whole LUN is one
// allocated extent. zero() uses WRITE SAME(16) with UNMAP where the Logical
// Block Provisioning VPD page allows it, else writes zeros. flush() sends
// SYNCHRONIZE CACHE(16), falling back to (10).
//
// write() is write-behind: it copies the data, sends it and returns with up
// to queue_depth commands still running; every other call (read, extents,
// zero, flush) first waits for them, so a failed write is reported there at
// the latest, and flush() must be called before the result counts as written.
//
// A dropped connection is re-established (up to 5 login attempts with
// back-off) and the commands in flight are reissued, each at most 3 times.
//
// Exit codes of the errors thrown: kExitUsage for a malformed URL or a CHAP
// user without a secret; kExitIo for everything the target or the network
// does: connection refused, login refused (initiator not in the ACL, wrong
// CHAP secret, unknown target or LUN), CHECK CONDITION (message carries the
// decoded sense key and ASC/ASCQ), LUN gone or resized, reconnect failed.
std::unique_ptr<Volume> open_iscsi_volume(const std::string& url, OpenMode mode, const VolumeOptions& options);

}  // namespace hci
