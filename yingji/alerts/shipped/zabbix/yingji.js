// Yingji webhook media type for Zabbix 6.0 and later: one POST per problem, update or recovery.
// Zabbix passes the media type's parameters as one JSON string, `value`. Yingji keys the alert by
// the event id (a recovery still carries the problem's id); an unexpanded macro is sent as it is
// and Yingji reads it as empty. Throwing makes Zabbix retry (maxattempts, attempt_interval).
var Yingji = {
    fields: ['event_id', 'event_value', 'event_update', 'event_ack', 'event_nseverity', 'event_severity',
             'event_name', 'event_opdata', 'event_tags', 'event_recovery_id', 'host', 'host_name', 'host_ip',
             'host_groups', 'trigger_id', 'item_value'],

    payload: function (params) {
        return {
            source: 'zabbix',
            event_id: params.event_id,
            value: params.event_value,
            update: params.event_update,
            ack: params.event_ack,
            nseverity: params.event_nseverity,
            severity: params.event_severity,
            name: params.event_name,
            opdata: params.event_opdata,
            tags: params.event_tags,
            recovery_id: params.event_recovery_id,
            host: params.host,
            host_name: params.host_name,
            host_ip: params.host_ip,
            host_groups: params.host_groups,
            trigger_id: params.trigger_id,
            item_value: params.item_value
        };
    },

    send: function (params) {
        if (typeof params.url !== 'string' || params.url.indexOf('/integrations/zabbix/') < 0) {
            throw 'Parameter "url" must be the Yingji integration URL (.../integrations/zabbix/<token>).';
        }
        var request = new HttpRequest();
        request.addHeader('Content-Type: application/json');
        // An undefined {$YINGJI.PROXY} arrives unexpanded: no proxy then.
        if (typeof params.http_proxy === 'string' && params.http_proxy.trim() !== '' &&
                params.http_proxy.charAt(0) !== '{') {
            request.setProxy(params.http_proxy);
        }
        var response = request.post(params.url, JSON.stringify(Yingji.payload(params)));
        var status = request.getStatus();
        if (status < 200 || status >= 300) {
            throw 'Yingji answered ' + status + ': ' + response;
        }
        return 'OK';
    }
};

try {
    var params = JSON.parse(value);
    Zabbix.log(4, '[ Yingji webhook ] event ' + params.event_id + ' value ' + params.event_value);
    return Yingji.send(params);
} catch (error) {
    Zabbix.log(3, '[ Yingji webhook ] failed: ' + error);
    throw 'Sending to Yingji failed: ' + error;
}
