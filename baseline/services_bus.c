/* SPDX-License-Identifier: ISC */
/* Asking the running systemd for its units' states over D-Bus (sd-bus), one call for all. */
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "fim/core/common.h"
#include "baseline/services.h"

#define BUS_TIMEOUT_USEC (2u * 1000000u) /* systemd answers at once or is stuck */
#define PRIVATE_SOCKET   "/run/systemd/private"
#define SYSTEM_SOCKET    "/run/dbus/system_bus_socket"

static void bus_closep(sd_bus **bus)
{
	sd_bus_close_unref(*bus);
}

static void msg_unrefp(sd_bus_message **m)
{
	sd_bus_message_unref(*m);
}

/* systemd's own socket (root only, works without a D-Bus daemon). */
static int connect_private(sd_bus **ret)
{
	_cleanup_(bus_closep) sd_bus *bus = NULL;
	struct stat st;
	int r;

	if (geteuid() != 0 || stat(PRIVATE_SOCKET, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -ENOENT;
	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, "unix:path=" PRIVATE_SOCKET);
	if (r < 0)
		return r;
	r = sd_bus_start(bus);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(bus);
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Completes the connection (authentication, Hello) by DEADLINE: sd-bus would wait 90 s. */
static int wait_ready(sd_bus *bus, uint64_t deadline)
{
	int r;

	while ((r = sd_bus_is_ready(bus)) == 0) {
		uint64_t now = now_usec();

		if (now >= deadline)
			return -ETIMEDOUT;
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, deadline - now);
		if (r < 0)
			return r;
	}
	return r < 0 ? r : 0;
}

static int list_units(sd_bus *bus, services_state_fn fn, void *userdata)
{
	_cleanup_(msg_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *name, *desc, *load, *active, *sub, *following, *path, *jtype, *jpath;
	uint32_t jid;
	int r;

	r = wait_ready(bus, now_usec() + BUS_TIMEOUT_USEC);
	if (r < 0)
		return r;
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
	                                   "/org/freedesktop/systemd1",
	                                   "org.freedesktop.systemd1.Manager", "ListUnits");
	if (r < 0)
		return r;
	r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &error, &reply);
	if (r < 0) {
		sd_bus_error_free(&error);
		return r;
	}
	r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub,
	                                &following, &path, &jid, &jtype, &jpath)) > 0) {
		r = fn(userdata, name, active, sub);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

int services_bus_list(services_state_fn fn, void *userdata, const char **ret_where)
{
	_cleanup_(bus_closep) sd_bus *bus = NULL;
	int r;

	/* sd_booted: /run/systemd/system exists only while systemd is PID 1. */
	if (sd_booted() <= 0)
		return -EHOSTDOWN;
	*ret_where = PRIVATE_SOCKET;
	r = connect_private(&bus);
	if (r == 0) {
		r = list_units(bus, fn, userdata);
		if (r >= 0)
			return 0;
		sd_bus_close_unref(TAKE_PTR(bus));
	}
	*ret_where = SYSTEM_SOCKET;
	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	r = list_units(bus, fn, userdata);
	return r < 0 ? r : 0;
}
