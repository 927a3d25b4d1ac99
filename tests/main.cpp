#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char **argv) {
    // The tests run the shipped tables, never the user's tune cache (ae2d/tune.h); the
    // tune-cache test points it at a directory of its own.
    setenv("AE2D_TUNE_CACHE", "off", 1);
    return Catch::Session().run(argc, argv);
}
