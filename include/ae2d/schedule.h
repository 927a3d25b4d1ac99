// Schedule tables: which compiled variant of each stage runs, by stage kind and shape.
//
// Every stage is compiled ahead of time in several variants: "manual" (the hand-written
// schedule), "auto" (Halide's Adams2019 autoscheduler) and, for the convolutions, a few
// alternative tilings ("co4", "strip4", "rows2", "cvec"), Winograd ("wino", "wplane", "wcvec",
// "w2cvec") and, for the up-sampling conv, its products at the source's resolution ("scvec",
// "srows"); schedules/variants.cmake defines them. The GPU backends have "manual" and "auto"
// (Anderson2021) only; other variants run "manual" there. A stage's variant is, in this order:
//   1. the first line whose fields all match the stage ("*" matches every value);
//   2. else the nearest line measured on another shape of the same stage, kernel and step
//      (channels within 1.5x, pixels per image within 4x, batch within 4x), so that a table tuned
//      on a few sizes covers the sizes between them;
//   3. else the table's default: "policy" (the built-in rules of src/runtime/schedule_policy.cpp,
//      sized by this CPU's vector width), "manual" or "auto".
// The text format (one stage per line, '#' starts a comment):
//
//   target x86-64-avx2          (optional: the CPU the table was tuned on)
//   default policy              (optional: policy, manual or auto; "policy" if absent)
//   # stage            kernel step in  out batch height width variant
//   norm_prelu_conv2d  3x3    s1x1 64  64  1     256    256   co4
//
// kernel is KHxKW, step is sSHxSW (conv stride) or uFHxFW (up-sampling factor), height and width
// are the output's; "-" marks a field the stage does not have, "*" in any shape field matches
// every value. `ae2d tune` writes these tables; schedules/tuned/<target>.txt are the shipped ones.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ae2d/status.h"

namespace ae2d {

// One line of a table (as `ae2d tune` reports it); as a lookup key, every field is set.
struct ScheduleEntry {
    static constexpr int64_t kAny = -1;   // "*"
    static constexpr int64_t kNone = -2;  // "-": the stage has no such field
    std::string stage;                    // the stage's library: conv2d, norm_prelu_conv2d, ...
    int64_t kernel_h = kAny, kernel_w = kAny;
    char step_kind = 's';                 // 's' stride, 'u' up-sampling factor
    int64_t step_h = kAny, step_w = kAny;
    int64_t in_channels = kAny, out_channels = kAny, batch = kAny, height = kAny, width = kAny;
    std::string variant;

    bool matches(const ScheduleEntry &key) const;
    std::string key_text() const;  // the line without the variant
};

// The rules of a table (src/runtime/schedule_table.h); opaque outside the library.
struct ScheduleRules;

// A schedule table, as above: made by name, parsed or loaded, printed; cheap to copy.
class ScheduleTable {
public:
    ScheduleTable();  // the built-in policy, as policy()
    // Every stage's hand-written schedule; every stage autoscheduled (Adams2019, on a GPU
    // Anderson2021); every stage as the built-in rules pick.
    static ScheduleTable manual();
    static ScheduleTable automatic();
    static ScheduleTable policy();
    // The table shipped for a target (schedules/tuned/<target>.txt, compiled in); a target
    // without one gets an empty table (the built-in policy everywhere).
    static ScheduleTable shipped(const std::string &target);
    // Parses a table; errors name `source` and the line.
    static Expected<ScheduleTable> parse(const std::string &text, const std::string &source);
    static Expected<ScheduleTable> load(const std::string &path);
    // "policy", "manual", "auto", "tuned" (the shipped table of this CPU) or a table file.
    static Expected<ScheduleTable> from_spec(const std::string &spec);

    // How it was chosen: policy, manual, auto, tuned (<target>), or the file it was read from.
    const std::string &name() const;
    // The table in the text format above; parse() reads it back.
    std::string to_text() const;

    explicit ScheduleTable(ScheduleRules rules);
    const ScheduleRules &rules() const { return *rules_; }

private:
    std::shared_ptr<const ScheduleRules> rules_;
};

// The CPU variant that runs here, as a table target: x86-64-avx512, x86-64-avx2, x86-64-sse41,
// arm64-neon (the one Halide's multi-target dispatch picks). The environment variable
// AE2D_CPU_TARGET, read at startup, may name a lower x86 variant, which then runs instead (to
// test or tune SSE4.1 or AVX2 code on a newer CPU); a variant this CPU cannot run is ignored.
std::string cpu_target();
}  // namespace ae2d
