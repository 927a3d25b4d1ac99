// The built-in choice of a stage's compiled variant: what runs where no schedule table line
// covers a stage, and on every CPU that has no tuned table.
#pragma once

#include <string>

#include "ae2d/schedule.h"

namespace ae2d::runtime {

// The variant the built-in rules pick for a stage of shape `key` (every field set) on the CPU
// `target` (a table target such as x86-64-avx2; its vector width sizes the rules). Only the
// plane size, the channels, the kernel and the step decide: no exact shape is looked up.
std::string policy_variant(const ScheduleEntry &key, const std::string &target);

}  // namespace ae2d::runtime
