#include "libsim/server.h"

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "libsim/ids.h"

namespace sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A coroutine parameter lives in the coroutine frame (a lambda's captures would not).
asio::awaitable<json::value> run_work(std::function<json::value()> work) { co_return work(); }

asio::awaitable<void> session(tcp::socket socket, Simulator& sim, asio::thread_pool& workers) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(512u << 20);  // base64 disk writes can be large
        auto [ec, n] = co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec) co_return;  // closed, reset or garbage: just drop the connection
        http::request<http::string_body> req = parser.release();
        std::string target(req.target());
        if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
        Reply reply = sim.handle(std::string(req.method_string()), target, req.body(),
                                 std::string(req[http::field::authorization]));
        if (reply.work) {
            // Run slow work on a worker thread; this connection waits, others go on.
            auto work = std::move(reply.work);
            try {
                reply.body = co_await asio::co_spawn(workers, run_work(std::move(work)), asio::use_awaitable);
            } catch (const std::exception& e) {
                reply.status = 500;
                reply.body = json::object{{"message", std::string("internal error: ") + e.what()},
                                          {"status", 500},
                                          {"path", target}};
            }
        }
        if (reply.latency_ms > 0) {
            asio::steady_timer timer(socket.get_executor(), std::chrono::milliseconds(reply.latency_ms));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (reply.drop) {
            beast::error_code ignored;
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
            co_return;
        }
        http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
        res.set(http::field::server, "hci-sim");
        res.set(http::field::content_type, "application/json");
        res.set("x-tower-request-id", new_uuid());
        res.keep_alive(req.keep_alive());
        res.body() = json::serialize(reply.body);
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
        (void)wn;
        if (wec || !res.keep_alive()) co_return;
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Simulator& sim, asio::thread_pool& workers) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket), sim, workers), asio::detached);
    }
}

}  // namespace

int serve(Simulator& sim, const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen needs HOST:PORT");
    asio::io_context io;  // not hinted single-threaded: workers post back into it
    tcp::endpoint ep(asio::ip::make_address(listen.substr(0, colon)),
                     static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
    tcp::acceptor acceptor(io, ep);
    tcp::endpoint bound = acceptor.local_endpoint();
    std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    std::string portal = sim.portal();
    std::printf("http://%s:%u\n%s\n", host.c_str(), bound.port(), portal.empty() ? "-" : portal.c_str());
    std::fflush(stdout);

    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code&, int) {
        beast::error_code ignored;
        acceptor.close(ignored);
        io.stop();
    });
    asio::thread_pool workers(2);
    asio::co_spawn(io, accept_loop(acceptor, sim, workers), asio::detached);
    io.run();
    workers.join();
    return 0;
}

}  // namespace sim
