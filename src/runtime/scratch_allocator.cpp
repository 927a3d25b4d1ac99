#include "runtime/scratch_allocator.h"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <utility>

#include "HalideRuntime.h"

namespace ae2d::runtime {

namespace {

// Each block starts with a header holding its usable capacity; callers get the address past it.
// 128 bytes keep the caller's pointer aligned as the underlying allocator aligned the block
// (64 bytes on x86, 32 on ARM) and leave the 8 readable bytes before it that Halide needs.
constexpr size_t kHeader = 128;
constexpr size_t kGranule = 128;
// Freed blocks a thread keeps: a conv stage holds at most a few scratch buffers at once.
constexpr int kCachedBlocks = 8;

halide_malloc_t g_system_malloc = nullptr;
halide_free_t g_system_free = nullptr;
std::atomic<int64_t> g_system_allocations{0};

struct Block {
    char *base = nullptr;  // what the system allocator returned
    size_t capacity = 0;   // usable bytes after the header
};

Block &header_of(void *user_ptr) { return *reinterpret_cast<Block *>(static_cast<char *>(user_ptr) - kHeader); }

struct ThreadCache {
    Block blocks[kCachedBlocks];
    int count = 0;
    ~ThreadCache() {
        for (int i = 0; i < count; ++i) g_system_free(nullptr, blocks[i].base);
    }
};

thread_local ThreadCache t_cache;

void *cached_malloc(void *user_context, size_t size) {
    ThreadCache &cache = t_cache;
    // The smallest cached block that fits, unless it is more than twice the need (then a large
    // block would pin memory for a small request).
    int best = -1;
    for (int i = 0; i < cache.count; ++i) {
        const size_t cap = cache.blocks[i].capacity;
        if (cap >= size && cap <= 2 * size + 4096 && (best < 0 || cap < cache.blocks[best].capacity)) best = i;
    }
    if (best >= 0) {
        Block b = cache.blocks[best];
        cache.blocks[best] = cache.blocks[--cache.count];
        return b.base + kHeader;
    }
    const size_t capacity = (size + kGranule - 1) / kGranule * kGranule + kGranule;  // slack: reads past the end
    char *base = static_cast<char *>(g_system_malloc(user_context, kHeader + capacity));
    if (!base) return nullptr;
    g_system_allocations.fetch_add(1, std::memory_order_relaxed);
    *reinterpret_cast<Block *>(base) = {base, capacity};
    return base + kHeader;
}

void cached_free(void *user_context, void *ptr) {
    if (!ptr) return;
    Block b = header_of(ptr);
    ThreadCache &cache = t_cache;
    if (cache.count < kCachedBlocks) {
        cache.blocks[cache.count++] = b;
        return;
    }
    // Full: keep the larger blocks (they are the expensive ones to get again).
    int smallest = 0;
    for (int i = 1; i < cache.count; ++i)
        if (cache.blocks[i].capacity < cache.blocks[smallest].capacity) smallest = i;
    if (cache.blocks[smallest].capacity < b.capacity) std::swap(cache.blocks[smallest], b);
    g_system_free(user_context, b.base);
}

}  // namespace

void install_scratch_allocator() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_system_malloc = halide_set_custom_malloc(cached_malloc);
        g_system_free = halide_set_custom_free(cached_free);
    });
}

// Installed while the program starts, before any Halide code can have allocated through the
// previous allocator (a block from it must never reach cached_free).
const bool g_installed_at_startup = (install_scratch_allocator(), true);

int64_t scratch_system_allocations() { return g_system_allocations.load(std::memory_order_relaxed); }

}  // namespace ae2d::runtime
