#include "ae2d/tensor.h"
#include <sstream>
namespace ae2d { std::string shape_to_string(const std::vector<int64_t> &shape) { std::ostringstream s; s << "("; for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i]; s << ")"; return s.str(); } }
