// SPDX-License-Identifier: MIT
/*
 * Interface set-up over rtnetlink (libmnl): one request per call on a
 * fresh socket, answered by the kernel's ACK, whose error is returned.
 * "Already there" (EEXIST) counts as success so set-up can be repeated.
 */
#include "io/tun.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Wait for the ACK of the request with sequence seq; 0 or -errno. */
static int wait_ack(struct mnl_socket *nl, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl);
	int r;

	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	} while (r == MNL_CB_OK);
	return r < 0 ? -errno : 0;
}

static int nl_request(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int r;

	if (!nl)
		return -errno;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	else
		r = wait_ack(nl, nlh->nlmsg_seq);
	mnl_socket_close(nl);
	return r;
}

static int ifindex_of(const char *ifname)
{
	unsigned int index = if_nametoindex(ifname);

	return index ? (int)index : -ENODEV;
}

static int addr_len(int family, uint8_t prefix_len)
{
	if (family == AF_INET && prefix_len <= 32)
		return 4;
	if (family == AF_INET6 && prefix_len <= 128)
		return 16;
	return -EINVAL;
}

int sl_link_set_up(const char *ifname, uint32_t mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	int index = ifindex_of(ifname);

	if (index < 0)
		return index;
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_request(nlh);
}

static int ignore_eexist(int r)
{
	return r == -EEXIST ? 0 : r;
}

int sl_link_addr_add(const char *ifname, int family, const uint8_t *addr, uint8_t prefix_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int index = ifindex_of(ifname), len = addr_len(family, prefix_len);

	if (len < 0)
		return len;
	if (index < 0)
		return index;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	/* No duplicate address detection on a point-to-point tunnel: usable at once. */
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	if (family == AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, (size_t)len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, (size_t)len, addr);
	return ignore_eexist(nl_request(nlh));
}

int sl_link_route_add(const char *ifname, int family, const uint8_t *dst, uint8_t prefix_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	int index = ifindex_of(ifname), len = addr_len(family, prefix_len);

	if (len < 0)
		return len;
	if (index < 0)
		return index;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = prefix_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (prefix_len)
		mnl_attr_put(nlh, RTA_DST, (size_t)len, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return ignore_eexist(nl_request(nlh));
}
