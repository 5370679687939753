#include "libcommon/block/scsi_status.h"

#include <cstdio>

namespace hci {

std::string hex(unsigned value, int width) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*x", width, value);
    return buf;
}

std::string status_text(int status) {
    switch (status) {
    case SCSI_STATUS_GOOD: return "GOOD";
    case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
    case SCSI_STATUS_CONDITION_MET: return "CONDITION MET";
    case SCSI_STATUS_BUSY: return "BUSY";
    case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
    case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
    case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
    case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
    case SCSI_STATUS_CANCELLED: return "cancelled (connection lost)";
    case SCSI_STATUS_ERROR: return "transport error";
    case SCSI_STATUS_TIMEOUT: return "timed out";
    default: return "status " + hex(static_cast<unsigned>(status), 2);
    }
}

std::string sense_text(const scsi_sense& s) {
    std::string text = "sense key ";
    const char* key = scsi_sense_key_str(s.key);
    text += (key ? key : "?");
    text += " (" + hex(s.key, 1) + "), ASC/ASCQ " + hex((s.ascq >> 8) & 0xff, 2) + "/" + hex(s.ascq & 0xff, 2);
    const char* ascq = scsi_sense_ascq_str(s.ascq);
    if (ascq && *ascq) text += std::string(" (") + ascq + ")";
    return text;
}

}  // namespace hci
