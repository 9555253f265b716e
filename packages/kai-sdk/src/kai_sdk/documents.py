"""The GraphQL documents a remote agent sends: its inbox subscription and its answers."""

INBOX = """
subscription Inbox($agentId: ID!) { agentInbox(agentId: $agentId) { id kind payload timestamp } }
"""
REPLY = """
mutation Reply($messageId: ID!, $result: JSON, $error: String) {
  agentReply(messageId: $messageId, result: $result, error: $error)
}
"""
CHUNK = """
mutation Chunk($messageId: ID!, $delta: String!, $done: Boolean!) {
  agentStreamChunk(messageId: $messageId, delta: $delta, done: $done)
}
"""
TASK_PROGRESS = """
mutation TaskProgress($taskId: ID!, $progress: Float!, $result: JSON, $error: String) {
  agentTaskProgress(taskId: $taskId, progress: $progress, result: $result, error: $error) { id }
}
"""
HEARTBEAT = """
mutation Heartbeat($agentId: ID!, $memoryUsage: Float, $cpuUsage: Float) {
  agentHeartbeat(agentId: $agentId, memoryUsage: $memoryUsage, cpuUsage: $cpuUsage) { state }
}
"""
LOG = """
mutation Log($agentId: ID!, $level: LogLevel!, $message: String!, $data: JSON) {
  agentLog(agentId: $agentId, level: $level, message: $message, data: $data) { id }
}
"""
