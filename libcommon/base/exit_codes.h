#pragma once
// Exit codes shared by every tool; documented in every man page and in hci-backup(7).
namespace hci {

enum ExitCode : int {
    kExitOk = 0,
    kExitPartial = 1,     // some input lines failed; the others were handled
    kExitUsage = 2,       // bad options or arguments
    kExitApi = 3,         // CloudTower API or network error
    kExitNotFound = 4,    // a requested object does not exist
    kExitTaskFailed = 5,  // a CloudTower task ended FAILED (or timed out)
    kExitIntegrity = 6,   // a block stream is corrupt, truncated or inconsistent
    kExitIo = 7,          // reading or writing a volume, file or device failed
    kExitBusy = 75,       // sysexits' EX_TEMPFAIL: another run holds what this one needs; try later
};

}  // namespace hci
