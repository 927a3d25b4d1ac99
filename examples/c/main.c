/* Loads an AE2d model, runs it on a constant input (1, in_planes, H, W) and prints the output
   shape and a checksum, through the C API of the installed ae2d package (C99).
     ae2d_example_c MODEL.safetensors [H W]     (H, W default to 20, 16) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ae2d/ae2d.h>

int main(int argc, char **argv) {
    char err[512];
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s MODEL.safetensors [H W]\n", argv[0]);
        return 2;
    }
    ae2d_model *model = ae2d_model_load(argv[1], err, sizeof err);
    if (!model) {
        fprintf(stderr, "error: %s\n", err);
        return 1;
    }
    printf("ae2d %s: %s, %d layers, %lld parameters\n", ae2d_version(), ae2d_model_describe(model),
           ae2d_model_nlayers(model), (long long)ae2d_model_num_parameters(model));

    int64_t in[4] = {1, ae2d_model_in_planes(model), 20, 16}, out[4];
    if (argc == 4) {
        in[2] = atoll(argv[2]);
        in[3] = atoll(argv[3]);
    }
    if (ae2d_model_output_shape(model, in, out, err, sizeof err) != 0) {
        fprintf(stderr, "error: %s\n", err);
        ae2d_model_free(model);
        return 1;
    }
    size_t in_n = (size_t)(in[0] * in[1] * in[2] * in[3]), out_n = (size_t)(out[0] * out[1] * out[2] * out[3]);
    float *x = malloc(in_n * sizeof *x), *y = malloc(out_n * sizeof *y);
    int rc = 1;
    if (x && y) {
        for (size_t i = 0; i < in_n; ++i) x[i] = 0.5f;
        if (ae2d_model_forward(model, x, in, y, out_n, err, sizeof err) == 0) {
            double sum = 0, abs_sum = 0;
            for (size_t i = 0; i < out_n; ++i) {
                sum += y[i];
                abs_sum += fabs(y[i]);
            }
            printf("output shape (%lld, %lld, %lld, %lld)\n", (long long)out[0], (long long)out[1],
                   (long long)out[2], (long long)out[3]);
            printf("checksum sum=%.6f abs=%.6f\n", sum, abs_sum);
            rc = 0;
        } else {
            fprintf(stderr, "error: %s\n", err);
        }
    } else {
        fprintf(stderr, "error: out of memory\n");
    }
    free(x);
    free(y);
    ae2d_model_free(model);
    return rc;
}
