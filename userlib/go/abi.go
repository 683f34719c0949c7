// SPDX-License-Identifier: GPL-2.0

package kchan

// The uapi header's numbers and structures (uapi/linux/kchan.h, interface
// version 2), for amd64 and the other little-endian 64-bit Linux ports.
// kchan_test.go's TestABI compares every number and size with what
// userlib/python/tests/kchan_abi.c, compiled against the header, prints.
//
// ioctl numbers as <asm-generic/ioctl.h> builds them:
// _IOC(dir, type, nr, size) = dir<<30 | size<<16 | type<<8 | nr, dir 0 for
// _IO, 1 for _IOW, 2 for _IOR, 3 for _IOWR; type KCHAN_IOC_MAGIC 0xB8.

const (
	kchanVersion = 2

	iocVersion  = 0x8030B800 // _IOR(0xB8, 0x00, struct kchan_version: 48)
	ctlCreate   = 0x4070B801 // _IOW(0xB8, 0x01, struct kchan_create: 112)
	ctlUnlink   = 0x4050B802 // _IOW(0xB8, 0x02, struct kchan_name: 80)
	ctlSelect   = 0xC038B803 // _IOWR(0xB8, 0x03, struct kchan_select: 56)
	ctlSelectFd = 0x0000B804 // _IO(0xB8, 0x04)
	iocClose    = 0x0000B810 // _IO(0xB8, 0x10)
	iocStat     = 0x8048B811 // _IOR(0xB8, 0x11, struct kchan_stat: 72)
	selArm      = 0xC038B820 // _IOWR(0xB8, 0x20, struct kchan_select: 56), version 2
	selCancel   = 0x8010B821 // _IOR(0xB8, 0x21, struct kchan_select_result: 16)

	nameMax  = 64
	nameSize = 72

	createAutoclose = 1 << 0

	opSend = 1
	opRecv = 2

	selectNonblock = 1 << 0
	selectPriority = 1 << 1
	selectDeadline = 1 << 2
	selectClosed   = 1 << 0 // result flags

	statClosed = 1 << 0
)

// struct kchan_create
type kCreate struct {
	capacity  uint32
	msgMax    uint32
	flags     uint32
	mode      uint32
	fdFlags   uint32
	reserved0 uint32
	name      [nameSize]byte
	reserved  [2]uint64
}

// struct kchan_name
type kName struct {
	name     [nameSize]byte
	reserved uint64
}

// struct kchan_version
type kVersion struct {
	version            uint32
	maxNamesPerUser    uint32
	features           uint64
	maxCapacity        uint32
	maxMsgSize         uint32
	maxChannelsPerUser uint32
	maxSelectCases     uint32
	maxBytesPerUser    uint64
	userBytes          uint64
}

// struct kchan_stat
type kStat struct {
	id        uint64
	capacity  uint32
	msgMax    uint32
	flags     uint32
	queued    uint32
	senders   uint32
	receivers uint32
	sent      uint64
	received  uint64
	nextLen   uint32
	reserved0 uint32
	reserved  [2]uint64
}

// struct kchan_case
type kCase struct {
	fd  int32
	op  uint32
	buf uint64
	len uint64
}

// struct kchan_select
type kSelect struct {
	cases      uint64
	ncases     uint32
	flags      uint32
	deadlineNs int64
	index      int32
	rflags     uint32
	len        uint64
	reserved   [2]uint64
}

// struct kchan_select_result
type kSelResult struct {
	index  int32
	flags  uint32
	result int64
}
