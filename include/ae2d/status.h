// Errors are values: every fallible call returns a Status or an Expected<T>.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ae2d {

// A success, or a failure with a message for a human (file, tensor name, expected vs got).
class Status {
public:
    Status() = default;
    static Status Ok() { return Status(); }
    static Status Error(std::string message) { return Status(std::move(message), true); }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string &message() const { return message_; }

    // Prefixes context (a file name, a stage) to a failure; a success passes through.
    Status with_context(const std::string &context) const {
        return ok() ? *this : Error(context + ": " + message_);
    }

private:
    Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
    std::string message_;
    bool failed_ = false;
};

// A value or the Status explaining why there is none.
template<typename T>
class Expected {
public:
    Expected(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
    Expected(Status error) : v_(std::move(error)) {}        // NOLINT: must be a failure

    bool ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return ok(); }
    Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
    const std::string &message() const {
        static const std::string none;
        return ok() ? none : std::get<Status>(v_).message();
    }

    T &value() & { return std::get<T>(v_); }
    const T &value() const & { return std::get<T>(v_); }
    T &&value() && { return std::get<T>(std::move(v_)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

private:
    std::variant<T, Status> v_;
};

}  // namespace ae2d
