#pragma once
// SCSI status and sense data as text for messages, and the error a CHECK
// CONDITION becomes. libiscsi's types, our wording.
extern "C" {
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
}
#include <string>

#include "libcommon/base/error.h"

namespace hci {

// "0x05" for hex(5, 2).
std::string hex(unsigned value, int width);

// "CHECK CONDITION", "BUSY", "cancelled (connection lost)", ...
std::string status_text(int status);

// "sense key ILLEGAL_REQUEST (0x5), ASC/ASCQ 0x25/0x00 (LOGICAL_UNIT_NOT_SUPPORTED)"
std::string sense_text(const scsi_sense& sense);

// A CHECK CONDITION (exit kExitIo), kept apart so callers can fall back when
// a LUN rejects an optional command (WRITE SAME, SYNCHRONIZE CACHE(16)).
class ScsiError : public Error {
public:
    ScsiError(const std::string& message, const scsi_sense& sense) : Error(kExitIo, message), sense_(sense) {}
    bool illegal_request() const { return sense_.key == SCSI_SENSE_ILLEGAL_REQUEST; }
    bool lun_gone() const {
        return sense_.key == SCSI_SENSE_ILLEGAL_REQUEST && sense_.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED;
    }

private:
    scsi_sense sense_;
};

}  // namespace hci
