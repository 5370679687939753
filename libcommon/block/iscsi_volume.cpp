#include "libcommon/block/iscsi_volume.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <stdexcept>

#include "libcommon/base/log.h"
#include "libcommon/block/iscsi_session.h"

namespace hci {
namespace {

constexpr size_t kDefaultCommandBytes = 1u << 20;
constexpr size_t kWriteCommandBytes = 256u << 10;
constexpr uint32_t kMaxWriteSameBlocks = 1u << 22;
constexpr uint32_t kMaxUnmapBlocks = 1u << 22;

// The Volume adapter: LUN geometry and provisioning (READ CAPACITY, VPD
// pages), and reads, writes, zeroing and allocation as SCSI commands run by
// the session.
class IscsiVolume : public Volume {
public:
    IscsiVolume(IscsiUrl url, OpenMode mode, const VolumeOptions& options)
        : session_(std::move(url), options.chap_secret,
                   options.initiator_iqn.empty() ? default_initiator_iqn() : options.initiator_iqn,
                   std::clamp(options.queue_depth, 1u, 256u)),
          mode_(mode) {
        const IscsiUrl& u = session_.url();
        if (!u.user.empty() && options.chap_secret.empty())
            fail(kExitUsage, u.str() + ": CHAP user '" + u.user +
                                 "' given but no CHAP secret (use --chap-secret-file or ZADP_CHAP_SECRET)");
        session_.connect();
        probe();
        session_.on_reconnect([this] { check_same_lun(); });
    }

    ~IscsiVolume() override {
        session_.finish_writes();
        log_info(describe() + ": read " + std::to_string(stats_.bytes_read) + " bytes in " +
                 std::to_string(stats_.reads) + " commands, wrote " + std::to_string(stats_.bytes_written) +
                 " bytes in " + std::to_string(stats_.writes) + " commands, zeroed " +
                 std::to_string(stats_.bytes_zeroed) + " bytes, " + std::to_string(stats_.lba_status_queries) +
                 " GET LBA STATUS, " + std::to_string(session_.reconnects()) + " reconnects, at most " +
                 std::to_string(session_.max_in_flight()) + " commands in flight");
    }

    uint64_t size() const override { return size_; }
    uint32_t block_size() const override { return block_; }
    // Reads of a quarter of the queue (4 MiB at the default depth of 16),
    // at most 8 MiB (the copy loop's largest), so that the reads in flight
    // (read_depth) keep every slot of the queue busy with commands to spare.
    size_t max_io_size() const override { return read_bytes(); }
    std::string describe() const override { return session_.describe(); }

    std::vector<Extent> extents(uint64_t offset, uint64_t length) override;
    void read(uint64_t offset, void* buf, size_t length) override;
    // Enough reads in flight that their commands fill the queue with one
    // read's worth waiting behind it: a slot freed by a finished command is
    // refilled at once, as iscsi-perf does, instead of the queue draining
    // towards half while the oldest read is waited for (two reads of 8 MiB
    // were 16 commands in all: a depth above 16 was never used). At most 8
    // reads, whatever the queue depth.
    unsigned read_depth() const override {
        size_t queue_bytes = size_t(session_.queue_depth()) * command_bytes_;
        return static_cast<unsigned>(std::min<size_t>(8, (queue_bytes + read_bytes() - 1) / read_bytes() + 1));
    }
    void start_read(uint64_t offset, void* buf, size_t length) override;
    void finish_read() override;
    void cancel_reads() override {
        session_.cancel_reads();
        started_.clear();
    }
    void write(uint64_t offset, const void* buf, size_t length) override;
    bool zero(uint64_t offset, uint64_t length) override;
    void flush() override;

private:
    struct Stats {
        uint64_t bytes_read = 0, reads = 0, bytes_written = 0, writes = 0, bytes_zeroed = 0;
        uint64_t lba_status_queries = 0;
    };

    void probe();
    void check_same_lun();
    void require_writable(const char* op) const;
    void check_range(uint64_t offset, uint64_t length, const char* op) const;
    bool aligned(uint64_t v) const { return v % block_ == 0; }
    size_t read_bytes() const {
        size_t quarter = session_.queue_depth() / 4 * command_bytes_;
        return std::clamp<size_t>(quarter, command_bytes_, std::max<size_t>(command_bytes_, 8u << 20));
    }
    int lun() const { return session_.url().lun; }

    void read_aligned(uint64_t offset, unsigned char* buf, size_t length);
    std::vector<IscsiCommand> read_commands(uint64_t offset, unsigned char* buf, size_t length);
    void write_aligned(uint64_t offset, const unsigned char* buf, size_t length);
    void run_in_block_ranges(uint64_t offset, uint64_t length, uint64_t max_blocks,
                             const std::function<IscsiCommand(uint64_t, uint32_t)>& make);
    void zero_by_write_same(uint64_t offset, uint64_t length);
    void zero_by_unmap(uint64_t offset, uint64_t length);

    IscsiCommand make_rw(bool is_write, uint64_t lba, uint32_t bytes, unsigned char* buf);

    IscsiSession session_;
    OpenMode mode_;
    uint64_t size_ = 0;
    uint32_t block_ = 512;
    bool lbpme_ = false, lbprz_ = false;
    bool write_same_unmap_ = false, unmap_ = false, sync16_ = true;
    size_t command_bytes_ = kDefaultCommandBytes;
    uint32_t max_write_same_blocks_ = kMaxWriteSameBlocks;
    uint32_t max_unmap_blocks_ = kMaxUnmapBlocks;
    std::vector<unsigned char> zeros_;
    Stats stats_;
    std::deque<size_t> started_;  // commands of each started read, oldest first
};

// ---- discovery -------------------------------------------------------------

void IscsiVolume::probe() {
    scsi_readcapacity16 cap{};
    bool have_cap = false;
    // probe() runs inside a reconnect too, with writes queued: never drain them here.
    session_.run_one({"READ CAPACITY(16)",
             [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                 return iscsi_readcapacity16_task(ctx, lun(), cb, p);
             },
             [&](scsi_task* t) {
                 if (auto* rc = static_cast<scsi_readcapacity16*>(scsi_datain_unmarshall(t))) {
                     cap = *rc;
                     have_cap = true;
                 }
             }},
            false);
    if (!have_cap || cap.block_length == 0 || cap.block_length % 512 != 0)
        fail(kExitIo, describe() + ": READ CAPACITY(16) returned no usable capacity");
    block_ = cap.block_length;
    size_ = (cap.returned_lba + 1) * block_;
    lbpme_ = cap.lbpme;
    lbprz_ = cap.lbprz;
    zeros_.assign(block_, 0);

    // Optional VPD pages; a LUN without them simply gets the defaults.
    auto inquiry = [this](int page, std::function<void(scsi_task*)> use) {
        try {
            session_.run_one({"INQUIRY VPD " + hex(page, 2),
                     [this, page](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                         return iscsi_inquiry_task(ctx, lun(), 1, page, 255, cb, p);
                     },
                     std::move(use)},
                    false);
        } catch (const ScsiError& e) {
            if (!e.illegal_request()) throw;
        }
    };
    std::vector<int> pages;
    inquiry(SCSI_INQUIRY_PAGECODE_SUPPORTED_VPD_PAGES, [&](scsi_task* t) {
        if (auto* sp = static_cast<scsi_inquiry_supported_pages*>(scsi_datain_unmarshall(t)))
            pages.assign(sp->pages, sp->pages + sp->num_pages);
    });
    auto has = [&](int page) { return std::find(pages.begin(), pages.end(), page) != pages.end(); };

    command_bytes_ = kDefaultCommandBytes;
    if (has(SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS)) {
        inquiry(SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, [&](scsi_task* t) {
            auto* bl = static_cast<scsi_inquiry_block_limits*>(scsi_datain_unmarshall(t));
            if (!bl) return;
            if (bl->max_xfer_len)
                command_bytes_ = std::min<uint64_t>(command_bytes_, uint64_t(bl->max_xfer_len) * block_);
            if (bl->max_ws_len) max_write_same_blocks_ = uint32_t(std::min<uint64_t>(bl->max_ws_len, kMaxWriteSameBlocks));
            if (bl->max_unmap) max_unmap_blocks_ = std::min(bl->max_unmap, kMaxUnmapBlocks);
        });
    }
    command_bytes_ = std::max<size_t>(block_, command_bytes_ / block_ * block_);

    write_same_unmap_ = unmap_ = false;
    if (lbpme_ && has(SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING)) {
        inquiry(SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING, [&](scsi_task* t) {
            auto* lbp = static_cast<scsi_inquiry_logical_block_provisioning*>(scsi_datain_unmarshall(t));
            if (!lbp) return;
            write_same_unmap_ = lbp->lbpws;
            // UNMAP may leave blocks mapped; only when unmapped blocks read
            // as zeros does it make a range read as zeros.
            unmap_ = lbp->lbpu && lbprz_;
        });
    }
    log_info(describe() + ": " + std::to_string(size_) + " bytes, block " + std::to_string(block_) +
             ", LBPME " + std::to_string(lbpme_) + ", LBPRZ " + std::to_string(lbprz_) + ", command size " +
             std::to_string(command_bytes_) + ", WRITE SAME+UNMAP " + (write_same_unmap_ ? "yes" : "no") +
             ", UNMAP " + (unmap_ ? "yes" : "no") + ", queue depth " + std::to_string(session_.queue_depth()));
}

// After a reconnect: the same LUN, or the copy cannot go on.
void IscsiVolume::check_same_lun() {
    uint64_t old_size = size_;
    uint32_t old_block = block_;
    probe();
    if (size_ != old_size || block_ != old_block)
        fail(kExitIo, describe() + ": the LUN changed size after a reconnect (" + std::to_string(old_size) + " -> " +
                          std::to_string(size_) + " bytes)");
}

// ---- Volume --------------------------------------------------------------

void IscsiVolume::check_range(uint64_t offset, uint64_t length, const char* op) const {
    if (offset > size_ || length > size_ - offset)
        fail(kExitIo, describe() + ": " + op + " of " + std::to_string(length) + " bytes at " +
                          std::to_string(offset) + " is beyond the end of the LUN (" + std::to_string(size_) +
                          " bytes)");
}

void IscsiVolume::require_writable(const char* op) const {
    if (mode_ != OpenMode::Write) fail(kExitUsage, describe() + ": " + op + " on a LUN opened for reading");
}

std::vector<Extent> IscsiVolume::extents(uint64_t offset, uint64_t length) {
    check_range(offset, length, "allocation query");
    std::vector<Extent> out;
    auto add = [&](uint64_t off, uint64_t len, bool allocated) {
        if (len == 0) return;
        if (!out.empty() && out.back().allocated == allocated && out.back().offset + out.back().length == off)
            out.back().length += len;
        else
            out.push_back({off, len, allocated});
    };
    // Unmapped blocks are zeros only when the LUN says so (LBPRZ); otherwise
    // everything is read, which is slower but never wrong.
    if (!lbpme_ || !lbprz_) {
        add(offset, length, true);
        return out;
    }
    const uint64_t end = offset + length;
    uint64_t pos = offset;
    while (pos < end) {
        uint64_t lba = pos / block_;
        std::vector<scsi_lba_status_descriptor> descs;
        ++stats_.lba_status_queries;
        session_.run_one({"GET LBA STATUS LBA " + std::to_string(lba),
                 [this, lba](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                     return iscsi_get_lba_status_task(ctx, lun(), lba, 8 + 16 * 256, cb, p);
                 },
                 [&](scsi_task* t) {
                     if (auto* st = static_cast<scsi_get_lba_status*>(scsi_datain_unmarshall(t)))
                         descs.assign(st->descriptors, st->descriptors + st->num_descriptors);
                 }});
        uint64_t before = pos;
        for (const auto& d : descs) {
            uint64_t d_start = d.lba * block_;
            uint64_t d_end = (d.lba + d.num_blocks) * block_;
            if (d_end <= pos) continue;
            if (d_start > pos) add(pos, std::min(d_start, end) - pos, true);  // a gap: read it
            pos = std::max(pos, d_start);
            if (pos >= end) break;
            uint64_t stop = std::min(d_end, end);
            add(pos, stop - pos, d.provisioning == SCSI_PROVISIONING_TYPE_MAPPED);
            pos = stop;
            if (pos >= end) break;
        }
        if (pos == before) {  // the target told us nothing new: read the rest
            add(pos, end - pos, true);
            pos = end;
        }
    }
    return out;
}

IscsiCommand IscsiVolume::make_rw(bool is_write, uint64_t lba, uint32_t bytes, unsigned char* buf) {
    IscsiCommand c;
    c.what = std::string(is_write ? "WRITE(16)" : "READ(16)") + " LBA " + std::to_string(lba) + " x " +
             std::to_string(bytes / block_);
    c.lba = lba;
    c.blocks = bytes / block_;
    int lun = this->lun();
    uint32_t bs = block_;
    if (is_write) {
        c.start = [=](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            return iscsi_write16_task(ctx, lun, lba, buf, bytes, bs, 0, 0, 0, 0, 0, cb, p);
        };
    } else {
        c.start = [=](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            scsi_task* t = iscsi_read16_task(ctx, lun, lba, bytes, bs, 0, 0, 0, 0, 0, cb, p);
            // Data-in lands straight in the caller's buffer.
            if (t) scsi_task_add_data_in_buffer(t, static_cast<int>(bytes), buf);
            return t;
        };
    }
    return c;
}

void IscsiVolume::read_aligned(uint64_t offset, unsigned char* buf, size_t length) {
    auto batch = read_commands(offset, buf, length);
    session_.run(batch);
}

std::vector<IscsiCommand> IscsiVolume::read_commands(uint64_t offset, unsigned char* buf, size_t length) {
    std::vector<IscsiCommand> batch;
    for (size_t done = 0; done < length; done += command_bytes_) {
        auto n = static_cast<uint32_t>(std::min(command_bytes_, length - done));
        batch.push_back(make_rw(false, (offset + done) / block_, n, buf + done));
    }
    stats_.bytes_read += length;
    stats_.reads += batch.size();
    return batch;
}

void IscsiVolume::start_read(uint64_t offset, void* buf, size_t length) {
    check_range(offset, length, "read");
    if (!aligned(offset) || !aligned(length)) {  // never from the copy loop: read at once
        read(offset, buf, length);
        started_.push_back(0);
        return;
    }
    auto batch = read_commands(offset, static_cast<unsigned char*>(buf), length);
    started_.push_back(batch.size());
    session_.queue_reads(std::move(batch));
}

void IscsiVolume::finish_read() {
    if (started_.empty()) throw std::logic_error("IscsiVolume::finish_read without a started read");
    size_t count = started_.front();
    started_.pop_front();
    try {
        session_.wait_reads(count);
    } catch (...) {
        started_.clear();  // the session dropped every queued read
        throw;
    }
}

void IscsiVolume::write_aligned(uint64_t offset, const unsigned char* buf, size_t length) {
    // The caller may reuse its buffer as soon as we return: keep a copy.
    auto data = std::make_shared<std::vector<unsigned char>>(buf, buf + length);
    // Writes no larger than libiscsi's FirstBurstLength go out unsolicited,
    // without waiting for the target's R2T: measurably faster than 1 MiB.
    size_t step = std::min(command_bytes_, kWriteCommandBytes);
    std::vector<IscsiCommand> commands;
    for (size_t done = 0; done < length; done += step) {
        auto n = static_cast<uint32_t>(std::min(step, length - done));
        commands.push_back(make_rw(true, (offset + done) / block_, n, data->data() + done));
        commands.back().data = data;
    }
    stats_.writes += commands.size();
    stats_.bytes_written += length;
    session_.write_behind(std::move(commands));
}

void IscsiVolume::read(uint64_t offset, void* buf, size_t length) {
    check_range(offset, length, "read");
    auto* out = static_cast<unsigned char*>(buf);
    if (aligned(offset) && aligned(length)) return read_aligned(offset, out, length);
    // Unaligned: read the covering blocks and copy the part asked for.
    uint64_t start = offset / block_ * block_;
    uint64_t end = (offset + length + block_ - 1) / block_ * block_;
    std::vector<unsigned char> tmp(end - start);
    read_aligned(start, tmp.data(), tmp.size());
    std::memcpy(out, tmp.data() + (offset - start), length);
}

void IscsiVolume::write(uint64_t offset, const void* buf, size_t length) {
    require_writable("write");
    check_range(offset, length, "write");
    auto* in = static_cast<const unsigned char*>(buf);
    if (aligned(offset) && aligned(length)) return write_aligned(offset, in, length);
    // Unaligned: read-modify-write of the covering blocks.
    uint64_t start = offset / block_ * block_;
    uint64_t end = (offset + length + block_ - 1) / block_ * block_;
    std::vector<unsigned char> tmp(end - start);
    read_aligned(start, tmp.data(), block_);
    read_aligned(end - block_, tmp.data() + tmp.size() - block_, block_);
    std::memcpy(tmp.data() + (offset - start), in, length);
    write_aligned(start, tmp.data(), tmp.size());
}

// Splits [offset, offset+length) into commands of at most max_blocks blocks
// each, built by make(lba, blocks), and runs them all in flight.
void IscsiVolume::run_in_block_ranges(uint64_t offset, uint64_t length, uint64_t max_blocks,
                                      const std::function<IscsiCommand(uint64_t, uint32_t)>& make) {
    std::vector<IscsiCommand> batch;
    for (uint64_t done = 0; done < length;) {
        uint64_t lba = (offset + done) / block_;
        auto blocks = static_cast<uint32_t>(std::min<uint64_t>(max_blocks, (length - done) / block_));
        batch.push_back(make(lba, blocks));
        done += uint64_t(blocks) * block_;
    }
    session_.run(batch);
}

void IscsiVolume::zero_by_write_same(uint64_t offset, uint64_t length) {
    run_in_block_ranges(offset, length, max_write_same_blocks_, [this](uint64_t lba, uint32_t blocks) {
        IscsiCommand c;
        c.what = "WRITE SAME(16) UNMAP LBA " + std::to_string(lba) + " x " + std::to_string(blocks);
        c.start = [this, lba, blocks](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            return iscsi_writesame16_task(ctx, lun(), lba, zeros_.data(), block_, blocks, 0, 1, 0, 0, cb, p);
        };
        return c;
    });
}

void IscsiVolume::zero_by_unmap(uint64_t offset, uint64_t length) {
    run_in_block_ranges(offset, length, max_unmap_blocks_, [this](uint64_t lba, uint32_t blocks) {
        IscsiCommand c;
        c.what = "UNMAP LBA " + std::to_string(lba) + " x " + std::to_string(blocks);
        c.start = [this, lba, blocks](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
            unmap_list range{lba, blocks};  // copied into the CDB's data-out
            return iscsi_unmap_task(ctx, lun(), 0, 0, &range, 1, cb, p);
        };
        return c;
    });
}

bool IscsiVolume::zero(uint64_t offset, uint64_t length) {
    require_writable("zero");
    check_range(offset, length, "zero");
    if (length == 0) return true;
    // Partial blocks (only ever at the end of a LUN) are the copy loop's to write.
    if (!aligned(offset) || !aligned(length)) return false;
    session_.drain_writes();  // so that a failed write is not taken for a refused WRITE SAME
    if (write_same_unmap_) {
        try {
            zero_by_write_same(offset, length);
            stats_.bytes_zeroed += length;
            return true;
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            log_info(describe() + ": WRITE SAME with UNMAP refused, writing zeros instead");
            write_same_unmap_ = false;
        }
    }
    if (unmap_) {
        try {
            zero_by_unmap(offset, length);
            stats_.bytes_zeroed += length;
            return true;
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            log_info(describe() + ": UNMAP refused, writing zeros instead");
            unmap_ = false;
        }
    }
    return false;
}

void IscsiVolume::flush() {
    if (mode_ != OpenMode::Write) return;
    session_.drain_writes();
    if (sync16_) {
        try {
            return session_.run_one({"SYNCHRONIZE CACHE(16)", [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                                return iscsi_synchronizecache16_task(ctx, lun(), 0, 0, 0, 0, cb, p);
                            }, {}});
        } catch (const ScsiError& e) {
            if (!e.illegal_request() || e.lun_gone()) throw;
            sync16_ = false;
        }
    }
    session_.run_one({"SYNCHRONIZE CACHE(10)", [this](iscsi_context* ctx, iscsi_command_cb cb, void* p) {
                 return iscsi_synchronizecache10_task(ctx, lun(), 0, 0, 0, 0, cb, p);
             }, {}});
}

}  // namespace

std::unique_ptr<Volume> open_iscsi_volume(const std::string& url, OpenMode mode, const VolumeOptions& options) {
    return std::make_unique<IscsiVolume>(parse_iscsi_url(url), mode, options);
}

}  // namespace hci
