#include "runtime/scratch_allocator.h"

#include <atomic>
#include <cstddef>
#include <mutex>

#include "HalideRuntime.h"

namespace ae2d::runtime {

namespace {

// Each block starts with a header holding its usable capacity; callers get the address past it.
// 128 bytes keep the caller's pointer aligned as the underlying allocator aligned the block
// (64 bytes on x86, 32 on ARM) and leave the 8 readable bytes before it that Halide needs.
constexpr size_t kHeader = 128;
constexpr size_t kGranule = 128;

halide_malloc_t g_system_malloc = nullptr;
std::atomic<int64_t> g_system_allocations{0};

// The header; free blocks are chained through it, so the pool itself never allocates.
struct Block {
    size_t capacity = 0;     // usable bytes after the header
    Block *next = nullptr;   // next free block
};
static_assert(sizeof(Block) <= kHeader, "the header must fit its space");

Block *header_of(void *user_ptr) { return reinterpret_cast<Block *>(static_cast<char *>(user_ptr) - kHeader); }

// Free blocks, shared by all threads. Every stage frees its scratch before the next starts, so
// the pool settles at the largest set of blocks one stage holds at once (a few per worker), and
// best fit (the smallest free block that is large enough) serves a repeated pass from it. A
// per-thread cache was tried first: the threads that run a stage's tasks change from pass to
// pass, and a thread without the right block went to the system (seen in 1 of about 20 runs).
// The lock is taken a few times per parallel task, next to milliseconds of work.
std::mutex g_pool_mutex;
Block *g_free_blocks = nullptr;  // a short list: the blocks of one stage

void *pooled_malloc(void *user_context, size_t size) {
    {
        std::lock_guard<std::mutex> lock(g_pool_mutex);
        Block **best = nullptr;
        for (Block **link = &g_free_blocks; *link; link = &(*link)->next)
            if ((*link)->capacity >= size && (!best || (*link)->capacity < (*best)->capacity)) best = link;
        if (best) {
            Block *b = *best;
            *best = b->next;
            return reinterpret_cast<char *>(b) + kHeader;
        }
    }
    const size_t capacity = (size + kGranule - 1) / kGranule * kGranule + kGranule;  // slack: reads past the end
    char *base = static_cast<char *>(g_system_malloc(user_context, kHeader + capacity));
    if (!base) return nullptr;
    g_system_allocations.fetch_add(1, std::memory_order_relaxed);
    *reinterpret_cast<Block *>(base) = {capacity, nullptr};
    return base + kHeader;
}

void pooled_free(void * /*user_context*/, void *ptr) {
    if (!ptr) return;
    Block *b = header_of(ptr);
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    b->next = g_free_blocks;
    g_free_blocks = b;
}

}  // namespace

void install_scratch_allocator() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_system_malloc = halide_set_custom_malloc(pooled_malloc);
        (void)halide_set_custom_free(pooled_free);  // blocks stay in the pool for the process's life
    });
}

// Installed while the program starts, before any Halide code can have allocated through the
// previous allocator (a block from it must never reach pooled_free).
const bool g_installed_at_startup = (install_scratch_allocator(), true);

int64_t scratch_system_allocations() { return g_system_allocations.load(std::memory_order_relaxed); }

}  // namespace ae2d::runtime
