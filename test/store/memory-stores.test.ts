import { MemoryAuditLog, MemoryCommandStore, MemoryDeviceStore, MemoryJobStore, MemoryPresenceStore } from '../../src/memory.js';
import { auditLogContract, commandStoreContract, deviceStoreContract, jobStoreContract, presenceStoreContract } from '../../src/testing/index.js';

deviceStoreContract(() => new MemoryDeviceStore(), { name: 'MemoryDeviceStore passes the DeviceStore contract' });
jobStoreContract(() => new MemoryJobStore(), { name: 'MemoryJobStore passes the JobStore contract' });
commandStoreContract(() => new MemoryCommandStore(), { name: 'MemoryCommandStore passes the CommandStore contract' });
auditLogContract(() => new MemoryAuditLog(), { name: 'MemoryAuditLog passes the AuditLog contract' });
presenceStoreContract(() => new MemoryPresenceStore(), { name: 'MemoryPresenceStore passes the PresenceStore contract' });
