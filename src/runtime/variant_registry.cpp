// The variant registry's lookups: names, rows and the shapes each variant runs.
#include "runtime/schedule_table.h"
#include "runtime/variant_entry_points.h"

namespace ae2d::runtime {

namespace {

struct Library {
    const char *name;
    std::vector<VariantInfo> variants;
};

template<typename Fn, size_t N>
std::vector<VariantInfo> rows_of(const Variant<Fn> (&variants)[N]) {
    std::vector<VariantInfo> rows;
    for (const auto &v : variants) rows.push_back(v.info);
    return rows;
}

const std::vector<Library> &libraries() {
#define AE2D_LIBRARY(stage) {#stage, rows_of(k_##stage)},
    static const std::vector<Library> all = {AE2D_FOR_EACH_STAGE(AE2D_LIBRARY)};
#undef AE2D_LIBRARY
    return all;
}

const Library *find_library(const std::string &name) {
    for (const Library &l : libraries())
        if (name == l.name) return &l;
    return nullptr;
}

}  // namespace

std::vector<std::string> stage_library_names() {
    std::vector<std::string> names;
    for (const Library &l : libraries()) names.push_back(l.name);
    return names;
}

std::vector<std::string> stage_variant_names(const std::string &library) {
    std::vector<std::string> names;
    if (const Library *l = find_library(library))
        for (const VariantInfo &v : l->variants) names.push_back(v.name);
    return names;
}

const VariantInfo *find_variant(const std::string &library, int index) {
    const Library *l = find_library(library);
    if (l == nullptr || index < 0 || size_t(index) >= l->variants.size()) return nullptr;
    return &l->variants[size_t(index)];
}

const VariantInfo *find_variant(const std::string &library, const std::string &variant) {
    if (const Library *l = find_library(library))
        for (const VariantInfo &v : l->variants)
            if (variant == v.name) return &v;
    return nullptr;
}

bool variant_runs(const VariantInfo &variant, const ScheduleEntry &key) {
    switch (variant.shapes) {
    case VariantShapes::AnyShape: return true;
    case VariantShapes::Winograd3x3: {
        const bool stride_1 =
            key.step_kind == 'u' || (field_matches(key.step_h, 1) && field_matches(key.step_w, 1));
        return field_matches(key.kernel_h, 3) && field_matches(key.kernel_w, 3) && stride_1;
    }
    case VariantShapes::UpsampleBy2AlongX:
        return key.step_w == ScheduleEntry::kAny || (key.step_kind == 'u' && key.step_w == 2);
    }
    return false;
}

const char *runs_only(const VariantInfo &variant) {
    switch (variant.shapes) {
    case VariantShapes::AnyShape: return "it runs every shape";
    case VariantShapes::Winograd3x3: return "it runs 3x3 convolutions at stride 1 only";
    case VariantShapes::UpsampleBy2AlongX: return "it up-samples by 2 along x only";
    }
    return "";
}

}  // namespace ae2d::runtime
