// Loads an AE2d model, runs it on a constant input (1, in_planes, H, W) and prints the output
// shape and a checksum, through the C++ API of the installed ae2d package.
//   ae2d_example_cpp MODEL.safetensors [H W]     (H, W default to 20, 16)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <ae2d/model.h>

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        std::cerr << "usage: " << argv[0] << " MODEL.safetensors [H W]\n";
        return 2;
    }
    const int64_t h = argc == 4 ? std::atoll(argv[2]) : 20, w = argc == 4 ? std::atoll(argv[3]) : 16;

    auto model = ae2d::Model::load(argv[1]);
    if (!model) {
        std::cerr << "error: " << model.message() << "\n";
        return 1;
    }
    std::printf("ae2d %s: %s, %d layers, %lld parameters\n", ae2d::version(), model->config().to_string().c_str(),
                model->nlayers(), static_cast<long long>(model->num_parameters()));

    ae2d::Tensor x({1, model->config().in_planes, h, w});
    for (float &v : x.data) v = 0.5f;
    auto y = model->forward(x);
    if (!y) {
        std::cerr << "error: " << y.message() << "\n";
        return 1;
    }
    double sum = 0, abs_sum = 0;
    for (float v : y->data) {
        sum += v;
        abs_sum += std::fabs(v);
    }
    std::printf("output shape %s\n", ae2d::shape_to_string(y->shape).c_str());
    std::printf("checksum sum=%.6f abs=%.6f\n", sum, abs_sum);
    return 0;
}
