// SPDX-License-Identifier: GPL-2.0
/*
 * Prints the uapi header's ioctl numbers and struct sizes, "NAME VALUE"
 * per line, for test_abi.py to compare with the Python module's.
 */
#include <stdio.h>
#include <linux/kchan.h>

#define NUM(x)	printf("%s %llu\n", #x, (unsigned long long)(x))
#define SIZE(s)	printf("sizeof_%s %zu\n", #s, sizeof(struct s))

int main(void)
{
	NUM(KCHAN_VERSION);
	NUM(KCHAN_IOC_VERSION);
	NUM(KCHAN_CTL_CREATE);
	NUM(KCHAN_CTL_UNLINK);
	NUM(KCHAN_CTL_SELECT);
	NUM(KCHAN_CTL_SELECT_FD);
	NUM(KCHAN_IOC_CLOSE);
	NUM(KCHAN_IOC_STAT);
	NUM(KCHAN_IOC_NEXT_LEN);
	NUM(KCHAN_IOC_SEND_BATCH);
	NUM(KCHAN_IOC_RECV_BATCH);
	NUM(KCHAN_SEL_ARM);
	NUM(KCHAN_SEL_CANCEL);
	NUM(KCHAN_NAME_MAX);
	NUM(KCHAN_NAME_SIZE);
	NUM(KCHAN_FEATURE_NAMED);
	NUM(KCHAN_FEATURE_AUTOCLOSE);
	NUM(KCHAN_FEATURE_NEXT_LEN);
	NUM(KCHAN_FEATURE_SELECT);
	NUM(KCHAN_FEATURE_BATCH);
	NUM(KCHAN_FEATURE_BUDGET);
	NUM(KCHAN_CREATE_AUTOCLOSE);
	NUM(KCHAN_STAT_CLOSED);
	NUM(KCHAN_STAT_AUTOCLOSE);
	NUM(KCHAN_STAT_NAMED);
	NUM(KCHAN_OP_SEND);
	NUM(KCHAN_OP_RECV);
	NUM(KCHAN_SELECT_NONBLOCK);
	NUM(KCHAN_SELECT_PRIORITY);
	NUM(KCHAN_SELECT_DEADLINE);
	NUM(KCHAN_SELECT_CLOSED);
	SIZE(kchan_create);
	SIZE(kchan_name);
	SIZE(kchan_version);
	SIZE(kchan_stat);
	SIZE(kchan_batch);
	SIZE(kchan_case);
	SIZE(kchan_select);
	SIZE(kchan_select_result);
	return 0;
}
