// The rules inside a ScheduleTable, and the variant lookups the runtime, `ae2d tune` and the
// tests make on them (include/ae2d/schedule.h has the lookup order and the text format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ae2d/schedule.h"

namespace ae2d {

struct ScheduleRules {
    std::string name = "policy";             // how it was chosen (ScheduleTable::name)
    std::string target;                      // the "target" line, empty if none
    std::string default_variant = "policy";  // "policy", "manual" or "auto"
    std::vector<ScheduleEntry> entries;

    // The variant for a stage (a key with every field set): an exact line, else the nearest
    // measured one, else the default.
    std::string variant_for(const ScheduleEntry &key) const;
    std::string to_text() const;

private:
    const ScheduleEntry *nearest_entry(const ScheduleEntry &key) const;
};

// Whether a table field (a value, or ScheduleEntry::kAny for "*") admits `value`.
inline bool field_matches(int64_t pattern, int64_t value) { return pattern == ScheduleEntry::kAny || pattern == value; }

// Whether `variant` is built for the stage of `key` and runs its shape ("*" fields match
// anything): the Winograd ones ("wino", "wplane", "wcvec", "w2cvec") need a 3x3 kernel at
// stride 1 or after up-sampling, "srows" up-sampling by 2 along x; the others run every shape.
// A table that names one for a stage it cannot run (through "*") runs "manual" there.
bool variant_applies(const std::string &variant, const ScheduleEntry &key);
// Stages with compiled variants, and the variants of one stage (empty for an unknown stage).
std::vector<std::string> schedule_stages();
std::vector<std::string> schedule_variants(const std::string &stage);

}  // namespace ae2d
