// ae2d graph --dot: the execution graph for one input shape (after fusion), for Graphviz.
#include <iostream>

#include "cli/commands.h"
#include "graph/builder.h"
#include "graph/output_transform.h"
#include "runtime/executor.h"

namespace ae2d::cli {

namespace {

struct GraphOptions {
    std::string model, input_shape;
    bool dot = false, unfused = false;
};

std::string dims(const graph::Value &v) {
    const auto &s = v.shape;
    if (v.kind == graph::ValueKind::NormCoeffs) return "coeffs " + std::to_string(s.c) + "x" + std::to_string(s.n);
    return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

void write_graph(const GraphOptions &o) {
    if (!o.dot) return fail("only --dot output is available");
    auto model = load_model(o.model);
    if (!model) return fail(model.status());
    auto shape = parse_shape(o.input_shape, 4, 4);
    if (!shape) return fail("--input-shape: " + shape.message());
    auto g = graph::build_network(model->config());
    if (!g) return fail(g.status());
    std::unordered_map<std::string, Tensor> constants;  // the output mode's; the dump reads no weights
    Status added = graph::apply_output_mode(*g, model->output_mode(), constants);
    if (!added) return fail(added);
    runtime::PlanOptions options;
    options.fuse = !o.unfused;
    auto plan = runtime::make_execution_plan(*g, {(*shape)[0], (*shape)[1], (*shape)[2], (*shape)[3]}, options);
    if (!plan) return fail(plan.status());
    const graph::Graph &eg = (*plan)->graph;
    std::cout << "digraph ae2d {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
    std::cout << "  v" << eg.input << " [label=\"input\\n" << dims(eg.values[eg.input]) << "\", shape=ellipse];\n";
    std::vector<int> producer(eg.values.size(), -1);
    for (size_t i = 0; i < eg.stages.size(); ++i) {
        const graph::Stage &s = eg.stages[i];
        const bool fused = s.kind == graph::StageKind::NormPReLUConv2d ||
                           s.kind == graph::StageKind::NormPReLUUpsampleConv2d ||
                           s.kind == graph::StageKind::NormPReLUUpsample || s.kind == graph::StageKind::NormResidualAdd;
        std::cout << "  s" << i << " [label=\"" << graph::stage_kind_name(s.kind) << "\\n" << s.module << "\\n"
                  << dims(eg.values[s.output]) << "\"" << (fused ? ", style=filled, fillcolor=lightblue" : "")
                  << "];\n";
        producer[s.output] = static_cast<int>(i);
        for (int v : s.inputs) {
            if (v == eg.input) std::cout << "  v" << v << " -> s" << i << ";\n";
            else std::cout << "  s" << producer[v] << " -> s" << i << ";\n";
        }
    }
    std::cout << "}\n";
}

}  // namespace

void add_graph_command(CLI::App &app) {
    auto o = std::make_shared<GraphOptions>();
    CLI::App *cmd = app.add_subcommand("graph", "Write the execution graph (fused stages filled) for Graphviz");
    cmd->add_option("--model,-m", o->model, "safetensors file")->required();
    cmd->add_option("--input-shape", o->input_shape, "B,C,H,W")->required();
    cmd->add_flag("--dot", o->dot, "Graphviz DOT on stdout");
    cmd->add_flag("--unfused", o->unfused, "show the primitive stages, before fusion");
    cmd->callback([o] { write_graph(*o); });
}

}  // namespace ae2d::cli
