// ae2d info: version and the compiled targets.
#include <iostream>

#include "cli/commands.h"

namespace ae2d::cli {

void add_info_command(CLI::App &app) {
    CLI::App *cmd = app.add_subcommand("info", "Version and compiled targets");
    cmd->callback([] {
        std::cout << "ae2d " << version() << "\n";
        std::cout << "backends: cpu\n";
        std::cout << "cpu targets (best first, chosen at run time): " << AE2D_CPU_TARGETS << "\n";
    });
}

}  // namespace ae2d::cli
