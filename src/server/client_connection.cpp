#include "server/client_connection.h"

#include <arpa/inet.h>
#include <cerrno>
#include <filesystem>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace m3::server {
namespace {

// The numeric host and port of an address, in the form cpp-httplib gives them to a request.
bool numeric_address(const sockaddr_storage &addr, socklen_t length, std::string &host, int &port) {
  if (addr.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in &>(addr).sin_port);
  else if (addr.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6 &>(addr).sin6_port);
  else
    return false;
  char buffer[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr *>(&addr), length, buffer, sizeof buffer, nullptr,
                  0, NI_NUMERICHOST) != 0)
    return false;
  host = buffer;
  return true;
}

bool has_address(int fd, int (*query)(int, sockaddr *, socklen_t *), const std::string &host,
                 int port) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (query(fd, reinterpret_cast<sockaddr *>(&addr), &length) != 0)
    return false;
  std::string found_host;
  int found_port = 0;
  return numeric_address(addr, length, found_host, found_port) && found_port == port &&
         found_host == host;
}

// The socket with these two addresses among the process's open files, or -1.
int find_socket(const std::string &remote_addr, int remote_port, const std::string &local_addr,
                int local_port) {
  std::error_code error;
  for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception &) {
      continue;
    }
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode))
      continue;
    if (has_address(fd, getpeername, remote_addr, remote_port) &&
        has_address(fd, getsockname, local_addr, local_port))
      return fd;
  }
  return -1;
}

} // namespace

ClientConnection::ClientConnection(const std::string &remote_addr, int remote_port,
                                   const std::string &local_addr, int local_port)
    : fd_(find_socket(remote_addr, remote_port, local_addr, local_port)) {}

bool ClientConnection::closed() const {
  if (fd_ < 0)
    return false;
  // Peeking consumes nothing: a pipelined next request stays for cpp-httplib to read.
  char byte;
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0)
    return n == 0; // 0: the client shut the connection down
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

} // namespace m3::server
